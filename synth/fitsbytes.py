"""FITS files made directly as bytes: header cards formatted here, binary-table data by numpy.

Why not astropy's HDU classes: building and writing an HDUList costs ~9 ms for a small event file (mostly
astropy's per-card configuration lookups), 90 s for 10^4 observations. Formatting the cards here (FITS
fixed format, laid out as astropy lays it out; astropy itself for the few cards that need more) and the
rows with one big-endian numpy record array takes well under 1 ms. The layout (mandatory keywords,
2880-byte blocks, TTYPE/TFORM/TUNIT/TDIM) is the FITS standard's; the tests read every file back with
astropy and verify it.

An HDU is a list of byte chunks (header, the record array's own memory, padding), written or gzipped
one after the other: a 10^6-observation index (~400 MB) is never copied into one bytes object.
Nothing here reads a clock or the environment: the same cards and arrays always give the same bytes, and
gzip files are written with mtime 0 and no file name (gzip headers otherwise carry both).
"""

import math
import os
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

BLOCK = 2880
GZIP_LEVEL = 1  # 10^6-row indexes: 2x faster than level 6 for 15% more bytes
GZIP_WBITS = 31  # zlib: gzip container
COMMENTARY = ("COMMENT", "HISTORY", "")
NUMPY_OF_TFORM = {"K": ">i8", "J": ">i4", "D": ">f8", "E": ">f4"}


@dataclass(frozen=True)
class Column:
    """One binary-table column: TTYPE, TFORM (K, J, D, E, <n>A, <n>E), TUNIT and, for array cells, the
    numpy shape of one cell (written as TDIM, whose axis order is the reverse of numpy's)."""

    name: str
    format: str
    unit: str = None
    shape: tuple = None

    def dtype(self):
        code, repeat = self.format[-1], int(self.format[:-1] or 1)
        if code == "A":
            return (self.name, f"S{repeat}")
        if self.shape or repeat > 1:
            return (self.name, NUMPY_OF_TFORM[code], self.shape or (repeat,))
        return (self.name, NUMPY_OF_TFORM[code])


def header_bytes(cards):
    """Header blocks from (keyword, value[, comment]) tuples, END added and padded with spaces.
    A card that does not fit (astropy would cut its comment) is an error: comments here are written
    to fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", VerifyWarning)
        text = "".join(_card_image(*card) for card in cards) + "END".ljust(80)
    return _padded(text.encode("ascii"), b" ")


def _card_image(keyword, value, comment=None):
    """One 80-character card in FITS fixed format; astropy formats the cards that need more (booleans,
    COMMENT, strings too long for one card, which take CONTINUE cards)."""
    text = None if keyword in COMMENTARY else _fixed_format_value(value)
    if text is None:
        return fits.Card(keyword, value, comment).image
    image = f"{keyword:<8}= {text}" + (f" / {comment}" if comment else "")
    if len(image) > 80:
        raise ValueError(f"card {keyword} does not fit in 80 characters: {image!r}")
    return image.ljust(80)


def _fixed_format_value(value):
    """The value field (columns 11-30 and beyond) as astropy lays it out: numbers right-justified,
    strings quoted and left-justified with at least 8 characters between the quotes. Floats are the
    shortest text that reads back as the same number (-70.32, as astropy >= 6 writes it; astropy 5.2
    writes -70.31999999999999). None: let astropy do it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return f"{value:>20}"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"FITS header values must be finite, not {value}")
        text = repr(float(value)).upper()
        return f"{text:>20}" if len(text) <= 20 else None
    if isinstance(value, str) and value.isascii() and value.isprintable():
        quoted = "'" + value.replace("'", "''").ljust(8) + "'"
        return f"{quoted:<20}" if len(quoted) <= 70 else None
    return None


def primary_hdu(cards=()):
    """An empty primary HDU, as GADF files have (a list of one chunk)."""
    mandatory = [("SIMPLE", True, "conforms to FITS standard"), ("BITPIX", 8, "array data type"),
                 ("NAXIS", 0, "number of array dimensions"), ("EXTEND", True)]
    return [header_bytes(mandatory + list(cards))]


def table_hdu(columns, values, cards):
    """A BINTABLE HDU: `values` maps each column name to its array (one row per element; array cells as
    (rows, *shape)); `cards` follow the structural keywords (EXTNAME first, by habit)."""
    rows = len(values[columns[0].name])
    records = np.empty(rows, dtype=[column.dtype() for column in columns])
    for column in columns:
        records[column.name] = values[column.name]
    structure = [("XTENSION", "BINTABLE", "binary table extension"), ("BITPIX", 8, "array data type"),
                 ("NAXIS", 2, "number of array dimensions"), ("NAXIS1", records.dtype.itemsize, "width of a row"),
                 ("NAXIS2", rows, "number of rows"), ("PCOUNT", 0), ("GCOUNT", 1), ("TFIELDS", len(columns))]
    for number, column in enumerate(columns, start=1):
        structure += [(f"TTYPE{number}", column.name), (f"TFORM{number}", column.format)]
        if column.unit:
            structure.append((f"TUNIT{number}", column.unit))
        if column.shape:
            structure.append((f"TDIM{number}", "(" + ",".join(str(n) for n in reversed(column.shape)) + ")"))
    return [header_bytes(structure + list(cards)), records.view(np.uint8), b"\0" * (-records.nbytes % BLOCK)]


def _padded(data, fill):
    return data + fill * (-len(data) % BLOCK)


def write_file(path, chunks, compress=False):
    """Writes byte chunks to `path` through a temporary file renamed into place, so that an interrupted
    run never leaves a complete-looking file. `compress` gzips them (zlib's gzip wrapper: mtime 0, no
    file name, so the same chunks give the same bytes)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    partial = path + ".part"
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS) if compress else None
    with open(partial, "wb") as f:
        for chunk in chunks:
            f.write(compressor.compress(chunk) if compressor else chunk)
        if compressor:
            f.write(compressor.flush())
    os.replace(partial, path)
