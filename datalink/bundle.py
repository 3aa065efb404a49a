"""Several observations in one tar that gammapy's DataStore.from_dir opens as it is: the bundle.

The members are each observation's event list and IRF file (built once into the product cache,
then copied from disk in chunks) followed by one hdu-index and one obs-index for all of them, so
that the archive can be written while it is sent (datalink/tarstream.py) and the server's memory
does not grow with its size.
"""

import os
import time

from . import parts, products, tarstream
from .observation import hdu_index_of, open_observation, source_paths

# A bundle is for the result of a search, not for a whole archive: beyond this, ask for several.
MAX_OBSERVATIONS = 1000


class BundleError(ValueError):
    """A list of observations that cannot be bundled; the message says which and why."""


def check_bundle(observations):
    """Raises BundleError unless every (collection, obs_id) can go into one bundle: at most
    MAX_OBSERVATIONS, OBS_IDs unique (gammapy keys on them), source files present."""
    if not observations:
        raise BundleError("No observation given: pass one ID parameter per observation")
    if len(observations) > MAX_OBSERVATIONS:
        raise BundleError(f"{len(observations)} observations requested; a bundle holds at most"
                          f" {MAX_OBSERVATIONS}: split the request")
    seen = {}
    for collection, obs_id in observations:
        other = seen.setdefault(str(obs_id), collection.name)
        if other != collection.name:
            raise BundleError(f"OBS_ID {obs_id} is in both {other} and {collection.name}; one"
                              f" bundle (one hdu-index) cannot hold both")
        if not hdu_index_of(collection).entries_for(str(obs_id)):
            raise BundleError(f"Observation {obs_id} of {collection.name} has no hdu-index rows")
        missing = [p for p in source_paths(collection, obs_id) if not os.path.exists(p)]
        if missing:
            raise BundleError(f"Observation {obs_id} of {collection.name}: missing {missing[0]}")


def unique(observations):
    """The observations in request order, each once."""
    seen, result = set(), []
    for collection, obs_id in observations:
        if (collection.name, str(obs_id)) not in seen:
            seen.add((collection.name, str(obs_id)))
            result.append((collection, str(obs_id)))
    return result


def members(observations, cache):
    """(name, path or bytes) of the bundle's members, made one observation at a time."""
    hdu_rows, by_collection = [], {}
    for collection, obs_id in observations:
        files = cache.files(collection, obs_id, [parts.EVENT_LIST, parts.ALL_IRFS])
        names = products.package_names(obs_id)
        hdu_rows += products.hdu_index_rows_of_files(
            obs_id, hdu_index_of(collection).entries_for(obs_id), names,
            files[parts.EVENT_LIST], files[parts.ALL_IRFS])
        by_collection.setdefault(collection.name, (collection, []))[1].append(obs_id)
        yield names["events"], files[parts.EVENT_LIST]
        yield names["irfs"], files[parts.ALL_IRFS]
    header = parts.hdu_index_header(observations[0][0])
    yield "hdu-index.fits.gz", products.gzipped_fits(products.hdu_index_table(hdu_rows, header))
    tables = [_obs_index(collection, obs_ids) for collection, obs_ids in by_collection.values()]
    yield "obs-index.fits.gz", products.gzipped_fits(products.merged_obs_index(tables))


def _obs_index(collection, obs_ids):
    """The obs-index rows of some observations of one collection (from the EVENTS headers where
    the collection has no obs-index)."""
    source = parts.obs_index_table(collection)
    if source is not None:
        return products.obs_index_rows(source, obs_ids)
    tables = []
    for obs_id in obs_ids:
        with open_observation(collection, obs_id) as obs:
            tables.append(products.obs_index_table(obs, None))
    return products.merged_obs_index(tables)


def write_bundle(out, observations, cache, mtime=None):
    """Writes the bundle of observations ([(collection, obs_id)], checked) to out.write."""
    return tarstream.write_tar(out, members(observations, cache), mtime or time.time())
