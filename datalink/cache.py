"""Built products on disk: each part of an observation is built once and then served as a file.

content_length in the links response must be the exact size of what dlget returns; building the
file once and serving that same file makes both agree by construction.

Layout: <root>/<schema>/<obs_id>/<key>/<part>.<ext>, where key hashes the source files' paths,
sizes and mtimes and PRODUCT_VERSION: a changed source or a changed builder gives a new directory.

IRF parts are built once for all the observations that share them: many collections (the
synthetic ones: six IRF files for all observations) give every observation the same IRF HDUs, and
an IRF part is then the same bytes for each. Such a part is built into
<root>/<schema>/shared/<part>-<key>.<ext> (key: what its bytes depend on, shared_key()) and
hard-linked into the observation's directory, which keeps the layout above.
"""

import hashlib
import os
import shutil
import tempfile

from astropy.io import fits

from . import parts
from .observation import IRF_TYPES, hdu_index_of, open_observation, source_paths

# Bump when products.py/previews.py change what they write.
PRODUCT_VERSION = "2"


class ProductCache:
    def __init__(self, root):
        self.root = root

    def _directory(self, collection, obs_id):
        h = hashlib.sha256(PRODUCT_VERSION.encode())
        for path in source_paths(collection, obs_id):
            st = os.stat(path)
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        return os.path.join(self.root, collection.schema, str(obs_id), h.hexdigest()[:16])

    def files(self, collection, obs_id, wanted=None):
        """{part: path of its built file} for the wanted parts (default: every file part of the
        observation, all linked parts but the documentation), building those not built yet.
        Raises IngestError (or OSError) when the observation's files cannot be read."""
        obs_id = str(obs_id)
        entries = hdu_index_of(collection).entries_for(obs_id)
        if wanted is None:
            hdu_types = {e.hdu_type for e in entries}
            wanted = [p for p in parts.parts_of(hdu_types) if p not in parts.COLLECTION_PARTS]
        directory = self._directory(collection, obs_id)
        paths = {p: os.path.join(directory, f"{p.name}.{p.extension}") for p in wanted}
        missing = [p for p, path in paths.items() if not os.path.exists(path)]
        if missing:
            os.makedirs(directory, exist_ok=True)
            missing = [p for p in missing
                       if not self._link_shared(collection, entries, p, paths[p])]
        if missing:
            with open_observation(collection, obs_id) as obs:
                for part in missing:
                    data = parts.build(part, collection, obs)
                    shared = self._shared_path(collection, entries, part)
                    if shared:  # the first observation with these IRFs: kept for the others
                        _write_atomically(shared, data)
                        _link_atomically(shared, paths[part])
                    else:
                        _write_atomically(paths[part], data)
        return paths

    def _shared_path(self, collection, entries, part):
        """Where part is kept for every observation with the same sources, or None for a part
        that is the observation's own (event list, package, previews)."""
        key = shared_key(part, entries)
        if key is None:
            return None
        directory = os.path.join(self.root, collection.schema, "shared")
        os.makedirs(directory, exist_ok=True)
        return os.path.join(directory, f"{part.name}-{key}.{part.extension}")

    def _link_shared(self, collection, entries, part, path):
        """Links the shared copy of part to path if it is built; returns whether it was."""
        shared = self._shared_path(collection, entries, part)
        if shared is None or not os.path.exists(shared):
            return False
        _link_atomically(shared, path)
        return True


def shared_key(part, entries):
    """What the bytes of an IRF part depend on, hashed: the IRF HDUs it copies (file identity and
    HDU name, as the hdu-index locates them) and the primary header it starts with (a copy of the
    event file's, products._primary). None for parts that are not IRFs."""
    if part is parts.ALL_IRFS:
        types = IRF_TYPES
    elif part in parts.IRF_PARTS.values():
        types = [t for t, p in parts.IRF_PARTS.items() if p is part]
    else:
        return None
    first = {}
    for entry in entries:  # the first row of a type is the one used (ingest locate_observation)
        first.setdefault(entry.hdu_type, entry)
    if "events" not in first:
        return None  # not an observation open_observation accepts: it reports why
    h = hashlib.sha256(f"{PRODUCT_VERSION}\0{part.name}\0".encode())
    try:
        h.update(fits.getheader(first["events"].path, 0).tostring().encode())
        for hdu_type in types:
            entry = first.get(hdu_type)
            if entry is not None:
                st = os.stat(entry.path)
                h.update(f"{hdu_type}\0{entry.path}\0{entry.hdu_name}\0{st.st_size}\0"
                         f"{st.st_mtime_ns}\0".encode())
    except (OSError, ValueError):
        return None  # unreadable: building it through open_observation says what is wrong
    return h.hexdigest()[:24]


def _write_atomically(path, data):
    """Concurrent requests may build the same file: each writes a temporary file and renames it."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _link_atomically(source, path):
    """path becomes a hard link to source (a copy where the file system has no hard links),
    through a temporary name as in _write_atomically."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
    os.close(fd)
    try:
        os.unlink(tmp)
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
