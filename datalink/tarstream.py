"""Tar archives laid out before they are written, and written piece by piece.

Python's tarfile wants a seekable file or a whole member in memory; a bundle of many observations
must go out as it is made, with the server's memory independent of the archive's size. A tar
archive is fixed-size headers, the members' bytes and padding, so once the members' sizes are
known the whole layout is: TarLayout gives the archive's size before a byte is written (an HTTP
Content-Length) and writes any byte range of it (an HTTP Range, to resume a broken download).

A member is (name, content) where content is bytes or the path of a file, which is copied in
CHUNK-sized pieces. The output is a plain USTAR archive, as `tar` and Python's tarfile read it.
"""

import os
import tarfile

from .downloads import copy_range

BLOCK = tarfile.BLOCKSIZE  # 512: members are padded to whole blocks
RECORD = tarfile.RECORDSIZE  # 10240: the archive is padded to whole records, as tar does


class TarLayout:
    """The archive of members ([(name, bytes or path)]) with every member's modification time
    mtime (seconds): its size, and its bytes in any range."""

    def __init__(self, members, mtime):
        self.segments = []  # (offset in the archive, length, bytes or a file's path)
        self.size = 0
        for name, content in members:
            size = len(content) if isinstance(content, bytes) else os.path.getsize(content)
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = size, int(mtime), 0o644
            self._add(info.tobuf(format=tarfile.USTAR_FORMAT))
            self._add(content, size)
            self._add(b"\0" * (-size % BLOCK))
        # Two zero blocks end the archive; tar then pads to a whole record.
        self._add(b"\0" * (2 * BLOCK + (-(self.size + 2 * BLOCK) % RECORD)))

    def _add(self, content, size=None):
        size = len(content) if size is None else size
        if size:
            self.segments.append((self.size, size, content))
            self.size += size

    def write(self, out, start=0, stop=None):
        """Writes the bytes [start, stop) of the archive (default: all of it) to out.write;
        returns how many it wrote."""
        stop = self.size if stop is None else min(stop, self.size)
        written = 0
        for offset, length, content in self.segments:
            low, high = max(start, offset), min(stop, offset + length)
            if low >= high:
                continue
            if isinstance(content, bytes):
                out.write(content[low - offset:high - offset])
            else:
                copy_range(out, content, low - offset, high - offset, length)
            written += high - low
        return written


def write_tar(out, members, mtime):
    """Writes the whole archive of members to out.write; returns the number of bytes written."""
    return TarLayout(members, mtime).write(out)
