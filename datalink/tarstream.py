"""Writing a tar archive member by member to anything with a write() method.

Python's tarfile wants a seekable file or a whole member in memory; a bundle of many observations
must go out as it is made, with the server's memory independent of the archive's size. A member is
(name, content) where content is bytes or the path of a file, which is copied in CHUNK-sized pieces.
The output is a plain USTAR archive, as `tar` and Python's tarfile read it.
"""

import os
import tarfile

BLOCK = tarfile.BLOCKSIZE  # 512: members are padded to whole blocks
RECORD = tarfile.RECORDSIZE  # 10240: the archive is padded to whole records, as tar does
CHUNK = 4 << 20


def write_tar(out, members, mtime):
    """Writes every (name, bytes or path) of members, then the end of the archive; returns the
    number of bytes written. mtime (seconds) is every member's modification time."""
    written = 0
    for name, content in members:
        size = len(content) if isinstance(content, bytes) else os.path.getsize(content)
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, int(mtime), 0o644
        header = info.tobuf(format=tarfile.USTAR_FORMAT)
        out.write(header)
        written += len(header) + _write_content(out, content, size)
        padding = -size % BLOCK
        out.write(b"\0" * padding)
        written += padding
    # Two zero blocks end the archive; tar then pads to a whole record.
    end = 2 * BLOCK + (-(written + 2 * BLOCK) % RECORD)
    out.write(b"\0" * end)
    return written + end


def _write_content(out, content, size):
    if isinstance(content, bytes):
        out.write(content)
        return len(content)
    copied = 0
    with open(content, "rb") as f:
        while copied < size:
            chunk = f.read(min(CHUNK, size - copied))
            if not chunk:
                raise OSError(f"{content} is shorter than its {size} bytes")
            out.write(chunk)
            copied += len(chunk)
    return copied
