"""The observation-file reader (CFITSIO through fitsio) against astropy reading the same files: what
fitsio 1.1 gets wrong by itself (long strings with quotes and ampersands, duplicated keywords, column
names that differ only in case) is read as astropy reads it."""

import gzip

import numpy as np
import pytest
from astropy.io import fits

from ingest.errors import IngestError
from ingest.fitsfiles import FitsFiles

# fitsio 1.1 alone reads this one ending in "!&"
LONG = ("O'Brien \"<b>&amp;</b>\" '; DROP TABLE x; -- & " * 300)[:9999] + "!"


def write(path, hdus, compress=False):
    fits.HDUList([fits.PrimaryHDU(), *hdus]).writeto(path)
    if compress:
        with open(path, "rb") as f:
            data = f.read()
        path = str(path) + ".gz"
        with open(path, "wb") as f:
            f.write(gzip.compress(data))
    return str(path)


def events(**keywords):
    ra = np.array([83.6, 83.7], dtype=">f8")
    table = fits.BinTableHDU.from_columns([
        fits.Column(name="ra", format="D", unit="rad", array=np.radians(ra)),
        fits.Column(name="RA", format="D", unit="deg", array=ra),
        fits.Column(name="Energy", format="E", unit="TeV", array=np.array([1.5, 2.5], dtype=">f4")),
    ], name="EVENTS")
    for key, value in keywords.items():
        table.header[key] = value
    return table


@pytest.fixture
def files():
    with FitsFiles() as opened:
        yield opened


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_values_as_astropy_reads_them(tmp_path, files, compress):
    hdu = events(OBJECT=LONG, TELLIST=",".join(str(n) for n in range(1, 120)), RA_PNT=83.63, FLAG=True,
                 TIMESYS="TT")
    hdu.header.append(("RA_PNT", 12.0))  # duplicates: the first value counts (fitsio 1.1 alone reads
    hdu.header.append(("TIMESYS", "UTC"))  # the last one of a text keyword)
    path = write(tmp_path / "e.fits", [hdu], compress)
    located = files.get(path).hdus[1]
    assert located.name == "EVENTS" and located.kind == "BinTableHDU" and located.is_table
    assert located.optional("OBJECT") == LONG
    assert located.optional("TELLIST") == ",".join(str(n) for n in range(1, 120))
    assert located.optional("RA_PNT") == 83.63 and located.header.keywords.count("RA_PNT") == 2
    assert located.optional("TIMESYS") == "TT"
    assert located.optional("FLAG") is True and located.optional("NOPE") is None
    with pytest.raises(IngestError, match="missing mandatory keyword"):
        located.mandatory("NOPE")


def test_columns_by_name_upper_case_first(tmp_path, files):
    located = files.get(write(tmp_path / "e.fits", [events()])).hdus[1]
    assert located.columns == ["RA", "ENERGY"]
    assert list(located.column("RA")) == [83.6, 83.7] and located.column_unit("ra") == "deg"
    assert located.column("energy").dtype == np.dtype(">f4") and located.column_unit("ENERGY") == "TeV"
    with pytest.raises(IngestError, match="missing mandatory column"):
        located.column("DEC")


def test_sizes_and_numbers_as_astropy_sees_them(tmp_path, files):
    path = write(tmp_path / "e.fits", [events(), fits.ImageHDU(np.zeros((3, 4)), name="MAP")])
    located = files.get(path).hdus
    with fits.open(path) as hdulist:
        for ours, theirs in zip(located, hdulist):
            info = theirs.fileinfo()
            assert ours.index == hdulist.index_of(theirs) and ours.name == theirs.name
            assert ours.file_bytes == info["datLoc"] - info["hdrLoc"] + -(-info["datSpan"] // 2880) * 2880
    assert [hdu.kind for hdu in located] == ["PrimaryHDU", "BinTableHDU", "ImageHDU"]
    with pytest.raises(IngestError, match="ImageHDU where a binary table was expected"):
        located[2].columns


# The last 2880 bytes are the events' data (40 bytes) and its padding: a file without the padding
# is whole, one cut into the data is not, and one with a byte more has something that is no HDU.
@pytest.mark.parametrize("cut,what", [(-2850, "truncated"), (-2000, None), (1, "truncated"), (None, None)])
def test_a_file_must_be_whole(tmp_path, files, cut, what):
    path = write(tmp_path / "e.fits", [events()])
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:cut] if cut and cut < 0 else data + b"\0" * (cut or 0))
    if what is None:
        assert files.get(path).hdus[1].optional("EXTNAME") == "EVENTS"
        return
    with pytest.raises(IngestError, match=what):
        files.get(path)
