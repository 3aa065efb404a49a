"""datalink/tarstream.py: tar archives written member by member."""

import io
import tarfile

from datalink import downloads, tarstream


class Recorder:
    """A file that keeps what is written, and the size of the largest single write."""

    def __init__(self):
        self.buffer, self.largest = io.BytesIO(), 0

    def write(self, data):
        self.largest = max(self.largest, len(data))
        self.buffer.write(data)


def test_members_from_bytes_and_files_read_back(tmp_path):
    big = tmp_path / "big.fits"
    big.write_bytes(bytes(range(256)) * 10000)  # 2.56 MB: copied in several chunks
    out = Recorder()
    size = tarstream.write_tar(out, [("a.txt", b"hello"), ("big.fits", str(big))], mtime=1e9)
    data = out.buffer.getvalue()
    assert size == len(data) and len(data) % tarstream.RECORD == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames() == ["a.txt", "big.fits"]
        assert tar.extractfile("a.txt").read() == b"hello"
        assert tar.extractfile("big.fits").read() == big.read_bytes()
        assert tar.getmember("big.fits").mtime == 1000000000
    assert out.largest <= downloads.CHUNK  # never the whole file at once


def test_the_size_is_known_before_writing_and_every_range_is_the_archive_s(tmp_path):
    """What an HTTP Content-Length and a Range request (a resumed download) need."""
    big = tmp_path / "big.fits"
    big.write_bytes(bytes(range(256)) * 3000)
    layout = tarstream.TarLayout([("a.txt", b"hello"), ("big.fits", str(big)), ("c", b"x" * 513)],
                                 mtime=0)
    whole = Recorder()
    assert layout.write(whole) == layout.size
    data = whole.buffer.getvalue()
    assert len(data) == layout.size
    for start, stop in [(0, 1), (0, 600), (511, 513), (1000, 700000), (layout.size - 5, None),
                        (700000, layout.size)]:
        part = Recorder()
        written = layout.write(part, start, stop)
        assert part.buffer.getvalue() == data[start:stop]
        assert written == len(data[start:stop])


def test_a_file_changed_after_the_layout_is_refused(tmp_path):
    member = tmp_path / "m"
    member.write_bytes(b"12345")
    layout = tarstream.TarLayout([("m", str(member))], mtime=0)
    member.write_bytes(b"123456")
    import pytest
    with pytest.raises(OSError, match="changed size"):
        layout.write(Recorder())


def test_empty_archive_is_valid():
    out = Recorder()
    tarstream.write_tar(out, [], mtime=0)
    with tarfile.open(fileobj=io.BytesIO(out.buffer.getvalue())) as tar:
        assert tar.getnames() == []
