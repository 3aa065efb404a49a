"""Built products on disk: each part of an observation is built once and then served as a file.

content_length in the links response must be the exact size of what dlget returns; building the
file once and serving that same file (by nginx, or DaCHS without it) makes both agree by
construction.

Layout: <root>/<schema>/<dataset>/<key>/<part>.<ext>, where key hashes the source files' paths,
sizes and mtimes and PRODUCT_VERSION: a changed source or a changed builder gives a new directory,
and the directories of the old key are removed when the new one is made. The provenance documents
of a dataset are made from its provenance rows, not from its files:
<root>/<schema>/<dataset>/prov-<key>/, key hashing a stamp that changes with the rows (the
dataset's source_fingerprint). The collection's documentation is
<root>/<schema>/documentation/<key>.txt.

Safe and bounded:
- several requests (threads or processes) asking for the same new files build them once: the
  builder holds a lock on the observation, the others wait and find them built; every file is
  written to a temporary name and renamed, so nobody ever reads a partial file;
- with max_bytes, the least recently used observations' files are removed once the cache grows
  beyond it (an observation's directory time is its last use); files used in the last GRACE
  seconds are kept, so a download that has just been handed out is not taken away;
- it is all on disk: it survives restarts, and `make ingest PREBUILD=1` fills it at ingest.

IRF parts are built once for all the observations that share them: many collections (the
synthetic ones: six IRF files for all observations) give every observation the same IRF HDUs, and
an IRF part is then the same bytes for each. Such a part is built into
<root>/<schema>/shared/<part>-<key>.<ext> (key: what its bytes depend on, shared_key()) and
hard-linked into the observation's directory, which keeps the layout above.
"""

import fcntl
import hashlib
import os
import shutil
import tempfile
import threading
import time

from astropy.io import fits

from . import parts
from .observation import IRF_TYPES, hdu_index_of, open_observation, source_paths
from provenance import documents

# Bump when products.py/previews.py (or provenance/documents.py) change what they write.
PRODUCT_VERSION = "3"
# The directory of a dataset's provenance documents beside that of its files: prov-<key>.
PROVENANCE_KEY_PREFIX = "prov-"
GRACE = 120  # seconds: files used this recently are never evicted
USE_RESOLUTION = 60  # seconds: the time of last use is recorded this precisely
EVICTION_INTERVAL = 10  # seconds: the size of the cache is looked at at most this often
_eviction_lock = threading.Lock()
_last_eviction = {}  # root -> time.monotonic() of the last look


class ProductCache:
    def __init__(self, root, max_bytes=None):
        self.root, self.max_bytes = root, max_bytes
        # Observations (or documentation) this object had to build files for: 0 means every file
        # asked of it was in the cache (the metrics' hits and misses, monitoring/metrics.py).
        self.builds = 0

    def _directory(self, collection, dataset):
        h = hashlib.sha256(PRODUCT_VERSION.encode())
        for path in source_paths(collection, dataset):
            st = os.stat(path)
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        return os.path.join(self.root, collection.schema, str(dataset), h.hexdigest()[:16])

    def files(self, collection, dataset, wanted=None):
        """{part: path of its built file} for the wanted parts (default: every file part of the
        observation, all linked parts but the documentation), building those not built yet.
        Raises IngestError (or OSError) when the observation's files cannot be read."""
        dataset = str(dataset)
        entries = hdu_index_of(collection).entries_for(dataset)
        if wanted is None:
            hdu_types = {e.hdu_type for e in entries}
            wanted = [p for p in parts.parts_of(hdu_types) if p not in parts.COLLECTION_PARTS]
        directory = self._directory(collection, dataset)
        paths = {p: os.path.join(directory, f"{p.name}.{p.extension}") for p in wanted}
        if all(os.path.exists(path) for path in paths.values()):
            _mark_used(directory)
            return paths
        with _locked(os.path.dirname(directory)):
            _forget_other_keys(directory)
            os.makedirs(directory, exist_ok=True)
            _mark_used(directory, force=True)
            missing = [p for p, path in paths.items() if not os.path.exists(path)
                       and not self._link_shared(collection, entries, p, path)]
            if missing:
                self._build(collection, dataset, entries, missing, paths)
        self.evict()
        return paths

    def _build(self, collection, dataset, entries, missing, paths):
        self.builds += 1
        with open_observation(collection, dataset) as obs:
            for part in missing:
                data = parts.build(part, collection, obs)
                shared = self._shared_path(collection, entries, part)
                if shared:  # the first observation with these IRFs: kept for the others
                    _write_atomically(shared, data)
                    _link_atomically(shared, paths[part])
                else:
                    _write_atomically(paths[part], data)

    def provenance(self, schema, dataset, stamp, load):
        """{part: path} of a dataset's provenance documents (parts.PROVENANCE_PARTS), built if
        they are not. stamp: text that changes whenever the dataset's provenance rows do (its
        source_fingerprint); load(): (its provenance Records, the rows of provenance.entity of
        the entities they name but do not hold), called only to build."""
        h = hashlib.sha256(f"{PRODUCT_VERSION}\0{stamp}".encode())
        directory = os.path.join(self.root, schema, str(dataset),
                                 PROVENANCE_KEY_PREFIX + h.hexdigest()[:16])
        paths = {p: os.path.join(directory, f"{p.name}.{p.extension}")
                 for p in parts.PROVENANCE_PARTS.values()}
        if all(os.path.exists(path) for path in paths.values()):
            _mark_used(directory)
            return paths
        with _locked(os.path.dirname(directory)):
            _forget_other_keys(directory)
            os.makedirs(directory, exist_ok=True)
            _mark_used(directory, force=True)
            missing = [p for p, path in paths.items() if not os.path.exists(path)]
            if missing:
                document = documents.document(*load())
                for part in missing:
                    _write_atomically(paths[part], parts.build_provenance(part, document))
        self.evict()
        return paths

    def documentation(self, collection):
        """The path of the collection's #documentation file, built if it is not."""
        h = hashlib.sha256(PRODUCT_VERSION.encode() + repr(collection).encode())
        for path in parts.documentation_sources(collection):
            if os.path.exists(path):
                st = os.stat(path)
                h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        path = os.path.join(self.root, collection.schema, "documentation",
                            h.hexdigest()[:16] + ".txt")
        if not os.path.exists(path):
            self.builds += 1
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _write_atomically(path, parts.build_documentation(collection))
        return path

    # ---------------------------------------------------------------- the size limit
    def evict(self, now=None):
        """Removes the least recently used observations' files until the cache is within
        max_bytes (no-op without a limit, or if it was looked at in the last seconds)."""
        if not self.max_bytes or not os.path.isdir(self.root):
            return
        with _eviction_lock:
            if now is None and time.monotonic() - _last_eviction.get(self.root, -1e9) \
                    < EVICTION_INTERVAL:
                return
            _last_eviction[self.root] = time.monotonic()
        now = time.time() if now is None else now
        usage, total = _usage(self.root)
        for used, directory, size in sorted(usage):
            if total <= self.max_bytes:
                break
            if now - used < GRACE:
                continue
            shutil.rmtree(directory, ignore_errors=True)
            total -= size
        if total > self.max_bytes:
            total -= _remove_unlinked_shared(self.root, now)

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


# ---------------------------------------------------------------- helpers of the cache
class _locked:
    """An exclusive lock on a directory (a .lock file in it), for threads and processes."""

    def __init__(self, directory):
        self.directory = directory

    def __enter__(self):
        os.makedirs(self.directory, exist_ok=True)
        self.file = open(os.path.join(self.directory, ".lock"), "a")
        fcntl.flock(self.file, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def _mark_used(directory, force=False):
    """Records that an observation's files were used now (the directory's time)."""
    try:
        if force or time.time() - os.stat(directory).st_mtime > USE_RESOLUTION:
            os.utime(directory)
    except FileNotFoundError:
        pass


def _forget_other_keys(directory):
    """Removes what was built from an observation's earlier sources (other keys of the same kind:
    its files, or its provenance documents)."""
    parent, key = os.path.split(directory)
    kind = key.startswith(PROVENANCE_KEY_PREFIX)
    for name in os.listdir(parent) if os.path.isdir(parent) else []:
        other = os.path.join(parent, name)
        if name != key and name.startswith(PROVENANCE_KEY_PREFIX) == kind and os.path.isdir(other):
            shutil.rmtree(other, ignore_errors=True)


def size_on_disk(root):
    """Bytes the cache at root takes (a shared IRF file once); 0 before anything is built."""
    if not os.path.isdir(root):
        return 0
    return _usage(root)[1]


def _usage(root):
    """([(time of last use, directory, bytes only it holds)] of every observation's built files,
    total bytes of the cache); a hard-linked file (a shared IRF) counts once, in shared/."""
    usage, total, seen = [], 0, set()
    for schema in os.listdir(root):
        schema_dir = os.path.join(root, schema)
        if not os.path.isdir(schema_dir):
            continue
        for name in os.listdir(schema_dir):
            obs_dir = os.path.join(schema_dir, name)
            if not os.path.isdir(obs_dir):
                continue
            if name in ("shared", "documentation"):
                for entry in os.scandir(obs_dir):
                    st = entry.stat()
                    if entry.is_file() and (st.st_dev, st.st_ino) not in seen:
                        seen.add((st.st_dev, st.st_ino))
                        total += st.st_size
                continue
            for key in os.listdir(obs_dir):
                directory = os.path.join(obs_dir, key)
                if not os.path.isdir(directory):
                    continue
                own = 0
                for entry in os.scandir(directory):
                    st = entry.stat()
                    if (st.st_dev, st.st_ino) not in seen:
                        seen.add((st.st_dev, st.st_ino))
                        total += st.st_size
                        if st.st_nlink == 1:
                            own += st.st_size
                usage.append((os.stat(directory).st_mtime, directory, own))
    return usage, total


def _remove_unlinked_shared(root, now):
    """Removes shared IRF files no observation links any more; returns the bytes freed."""
    freed = 0
    for schema in os.listdir(root):
        shared = os.path.join(root, schema, "shared")
        if not os.path.isdir(shared):
            continue
        for entry in os.scandir(shared):
            st = entry.stat()
            if st.st_nlink == 1 and now - st.st_mtime >= GRACE and not entry.name.startswith("."):
                os.unlink(entry.path)
                freed += st.st_size
    return freed
