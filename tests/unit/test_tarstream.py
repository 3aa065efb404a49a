"""datalink/tarstream.py: tar archives written member by member."""

import io
import tarfile

from datalink import tarstream


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
    assert out.largest <= tarstream.CHUNK  # never the whole file at once


def test_members_are_made_lazily():
    made = []

    def members():
        for name in ("one", "two"):
            made.append(name)
            yield name, name.encode()

    out = Recorder()
    generator = members()
    tarstream.write_tar(out, generator, mtime=0)
    assert made == ["one", "two"]


def test_empty_archive_is_valid():
    out = Recorder()
    tarstream.write_tar(out, [], mtime=0)
    with tarfile.open(fileobj=io.BytesIO(out.buffer.getvalue())) as tar:
        assert tar.getnames() == []
