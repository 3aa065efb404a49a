"""What was read from a file, kept until the file changes: the one place for "read it once".

The DataLink and bundle services read the same index tables and configuration on every request
(a bundle of a thousand observations would otherwise parse them a thousand times); a file
changed by an ingest (new modification time or size) is read again.
"""

import os
import threading

_kept = {}  # (read, path) -> ((mtime_ns, size), what read(path) returned)
_lock = threading.Lock()


def read_when_changed(path, read):
    """read(path), or what it returned the last time if the file has not changed since.
    What it returns is shared between callers: do not modify it."""
    st = os.stat(path)
    signature = (st.st_mtime_ns, st.st_size)
    with _lock:
        kept = _kept.get((read, path))
    if kept is None or kept[0] != signature:
        kept = (signature, read(path))
        with _lock:
            _kept[(read, path)] = kept
    return kept[1]
