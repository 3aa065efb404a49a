"""Several observations in one tar that gammapy's DataStore.from_dir opens as it is: the bundle.

The members are each observation's event list and IRF file (built once into the product cache,
then copied from disk in chunks) followed by one hdu-index and one obs-index for all of them.
Every member is built before the first byte is sent, so the archive's size is known (an HTTP
Content-Length, and Range requests to resume: datalink/tarstream.py), its bytes are the same on
every request, and the server's memory does not grow with its size.

A search over every collection finds reprocessings and re-releases of the same observations,
whose OBS_IDs then collide, and event subsets of one observation (HAWC's event types) share its
OBS_ID; gammapy keys on OBS_ID, so such a bundle has one directory per collection and event subset
(`hawc/GP-5/`), each a data store of its own, and a README.txt at the top that says so.

Observations are (collection, dataset key) pairs (ingest/datasets.py).
"""

import hashlib
import os
import shutil

from . import downloads, parts, products, tarstream
from .observation import hdu_index_of, open_observation, source_paths

README = "README.txt"

# A bundle is for the result of a search, not for a whole archive: beyond this, ask for several.
MAX_OBSERVATIONS = 1000


class BundleError(ValueError):
    """A list of observations that cannot be bundled; the message says which and why."""


def check_bundle(observations):
    """Raises BundleError unless every (collection, key) can go into one bundle: at most
    MAX_OBSERVATIONS, source files present."""
    if not observations:
        raise BundleError("No observation given: pass one ID parameter per observation")
    if len(observations) > MAX_OBSERVATIONS:
        raise BundleError(f"{len(observations)} observations requested; a bundle holds at most"
                          f" {MAX_OBSERVATIONS}: split the request")
    for collection, key in observations:
        if not hdu_index_of(collection).entries_for(str(key)):
            raise BundleError(f"Observation {key} of {collection.name} has no hdu-index rows")
        missing = [p for p in source_paths(collection, key) if not os.path.exists(p)]
        if missing:
            raise BundleError(f"Observation {key} of {collection.name}: missing {missing[0]}")


def unique(observations):
    """The observations in request order, each once."""
    seen, result = set(), []
    for collection, key in observations:
        if (collection.name, str(key)) not in seen:
            seen.add((collection.name, str(key)))
            result.append((collection, str(key)))
    return result


def by_collection(observations):
    """[(collection, [dataset key, ...])] in the order the collections first appear."""
    groups = {}
    for collection, key in observations:
        groups.setdefault(collection.name, (collection, []))[1].append(str(key))
    return list(groups.values())


def _store_name(collection, key):
    """The directory of a dataset in a bundle whose OBS_IDs collide: its collection's name, and
    its event subset's below it."""
    subset = hdu_index_of(collection).entries_for(key)[0].subset
    return f"{collection.name}/{subset}" if subset else collection.name


def _obs_id(collection, key):
    return hdu_index_of(collection).entries_for(key)[0].obs_id


def colliding(observations):
    """True if an OBS_ID is in more than one collection, or in more than one event subset."""
    stores = {}
    for collection, key in observations:
        stores.setdefault(_obs_id(collection, key), set()).add(_store_name(collection, key))
    return any(len(names) > 1 for names in stores.values())


def members(observations, cache):
    """(name, path or bytes) of the bundle's members, every file built."""
    if not colliding(observations):
        return _store_members(by_collection(observations), cache, "")
    stores = {}
    for collection, key in observations:
        stores.setdefault(_store_name(collection, key), []).append((collection, key))
    result = [(README, readme(list(stores)))]
    for name, store in stores.items():
        result += _store_members(by_collection(store), cache, f"{name}/")
    return result


def readme(store_names):
    listed = "\n".join(f"  {name}/" for name in store_names)
    return (f"""These observations share OBS_IDs: they come from collections that hold
reprocessings or re-releases of the same observations, or they are event subsets (event classes
and types) of one observation. gammapy identifies observations by OBS_ID, so each collection and
event subset is a data store of its own, in its own directory:

{listed}

Open each with gammapy: DataStore.from_dir("<directory>").
""").encode("utf-8")


def _store_members(groups, cache, prefix):
    """The members of one data store (under prefix) holding the observations of groups."""
    result, hdu_rows = [], []
    for collection, keys in groups:
        for key in keys:
            files = cache.files(collection, key, [parts.EVENT_LIST, parts.ALL_IRFS])
            names = products.package_names(key)
            hdu_rows += products.hdu_index_rows_of_files(
                hdu_index_of(collection).entries_for(key), names,
                files[parts.EVENT_LIST], files[parts.ALL_IRFS])
            result += [(prefix + names["events"], files[parts.EVENT_LIST]),
                       (prefix + names["irfs"], files[parts.ALL_IRFS])]
    header = parts.hdu_index_header(groups[0][0])
    tables = [_obs_index(collection, keys) for collection, keys in groups]
    return result + [
        (prefix + "hdu-index.fits.gz",
         products.gzipped_fits(products.hdu_index_table(hdu_rows, header))),
        (prefix + "obs-index.fits.gz", products.gzipped_fits(products.merged_obs_index(tables)))]


def layout(observations, cache):
    """(TarLayout, downloads.Representation) of the bundle of observations ([(collection,
    dataset key)], checked): the same bytes, size and ETag on every request until a member changes.
    Its time is its newest member file's."""
    contents = members(observations, cache)
    files = [content for _, content in contents if not isinstance(content, bytes)]
    mtime = max((os.path.getmtime(path) for path in files), default=0)
    h = hashlib.sha256()
    for name, content in contents:
        if isinstance(content, bytes):
            h.update(f"{name}\0".encode() + hashlib.sha256(content).digest())
        else:
            st = os.stat(content)
            h.update(f"{name}\0{content}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}".encode())
    archive = tarstream.TarLayout(contents, mtime)
    return archive, downloads.representation(archive.size, mtime, "-" + h.hexdigest()[:16])


def _obs_index(collection, keys):
    """The obs-index rows of some datasets of one collection (from the EVENTS headers where
    the collection has no obs-index)."""
    source = parts.obs_index_table(collection)
    if source is not None:
        return products.obs_index_rows(source, [_obs_id(collection, key) for key in keys])
    tables = []
    for key in keys:
        with open_observation(collection, key) as obs:
            tables.append(products.obs_index_table(obs, None))
    return products.merged_obs_index(tables)


def write_directory(directory, observations, cache):
    """The bundle of observations ([(collection, dataset key)], checked) as files under directory
    rather than a tar (the processing service's input, processing/job.py): built files are
    hard-linked from the product cache (copied across file systems), so that evicting them from
    the cache later leaves these. Returns the directory of each observation's data store, in
    order."""
    for name, content in members(observations, cache):
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(content, bytes):
            with open(path, "wb") as f:
                f.write(content)
            continue
        try:
            os.link(content, path)
        except OSError:
            shutil.copyfile(content, path)
    split = colliding(observations)
    return [os.path.join(directory, _store_name(c, k)) if split else directory
            for c, k in observations]


def write_bundle(out, observations, cache):
    """Writes the whole bundle of observations ([(collection, dataset key)], checked) to out.write."""
    archive, _ = layout(observations, cache)
    return archive.write(out)
