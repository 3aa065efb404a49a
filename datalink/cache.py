"""Built products on disk: each part of an observation is built once and then served as a file.

content_length in the links response must be the exact size of what dlget returns; building the
file once and serving that same file makes both agree by construction.

Layout: <root>/<schema>/<obs_id>/<key>/<part>.<ext>, where key hashes the source files' paths,
sizes and mtimes and PRODUCT_VERSION: a changed source or a changed builder gives a new directory.
"""

import hashlib
import os
import tempfile

from . import parts
from .observation import hdu_index_of, open_observation, source_paths

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
        if wanted is None:
            hdu_types = {e.hdu_type for e in hdu_index_of(collection).entries_for(obs_id)}
            wanted = [p for p in parts.parts_of(hdu_types) if p not in parts.COLLECTION_PARTS]
        directory = self._directory(collection, obs_id)
        paths = {p: os.path.join(directory, f"{p.name}.{p.extension}") for p in wanted}
        missing = [p for p, path in paths.items() if not os.path.exists(path)]
        if missing:
            os.makedirs(directory, exist_ok=True)
            with open_observation(collection, obs_id) as obs:
                for part in missing:
                    _write_atomically(paths[part], parts.build(part, collection, obs))
        return paths


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
