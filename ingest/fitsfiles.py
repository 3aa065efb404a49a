"""Opening FITS files and reading header keywords, with failures turned into IngestErrors."""

import gzip
import os
import re
import warnings
import zlib

from astropy.io import fits
from astropy.io.fits.verify import VerifyError

from .errors import IngestError
from .values import control_character_problem, plain

GZIP_MAGIC = b"\x1f\x8b"
BLOCK = 2880  # FITS block
CARD = 80  # FITS header card


class LocatedHdu:
    """One HDU of an open FITS file, with the path and name that error messages need."""

    def __init__(self, path, hdu):
        self.path = path
        self.hdu = hdu
        self.name = hdu.name or "PRIMARY"

    @property
    def header(self):
        return self.hdu.header

    @property
    def data(self):
        try:
            return self.hdu.data
        except (OSError, ValueError, TypeError, EOFError) as exc:
            raise IngestError(f"unreadable data: {exc}", self.path, self.name) from exc

    @property
    def is_table(self):
        return hasattr(self.hdu, "columns")

    @property
    def columns(self):
        """The upper-case names of the table columns (an image HDU where a table belongs, as in
        HAWC's map IRFs, is an IngestError naming its layout)."""
        if not hasattr(self.hdu, "columns"):
            raise IngestError(f"{type(self.hdu).__name__} where a binary table was expected"
                              " (a layout this ingest does not read)", self.path, self.name)
        return [name.upper() for name in self.hdu.columns.names]

    def mandatory(self, key):
        """A keyword the GADF requires: its absence rejects the observation."""
        if key not in self.header:
            raise IngestError("missing mandatory keyword", self.path, self.name, key)
        value = self.optional(key)
        if value is None:
            raise IngestError("mandatory keyword has no value", self.path, self.name, key)
        return value

    def optional(self, key, default=None):
        """A keyword that may be absent; an empty value counts as absent. A duplicated keyword gives
        its first value (as CFITSIO does); a card astropy cannot parse is an IngestError naming it."""
        try:
            value = plain(self.header.get(key))
        except VerifyError as exc:
            raise IngestError(f"unparsable header card: {exc}", self.path, self.name, key) from None
        return default if value is None else value

    def column(self, name):
        """A table column as a numpy array; its absence rejects the observation."""
        if name.upper() not in self.columns:
            raise IngestError("missing mandatory column", self.path, self.name, name)
        return self.data[name]

    def column_unit(self, name):
        """TUNITn of a column, or None."""
        for index, column_name in enumerate(self.hdu.columns.names, start=1):
            if column_name.upper() == name.upper():
                return plain(self.header.get(f"TUNIT{index}"))
        return None

    def error(self, message, keyword=None):
        return IngestError(message, self.path, self.name, keyword)


class SharedFitsFiles:
    """Files several observations share (paths known in advance), opened once and kept open."""

    def __init__(self, paths):
        self.paths = {os.path.normpath(p) for p in paths}
        self._files = FitsFiles()

    def get(self, path):
        return self._files.get(path)

    def close(self):
        self._files.close()


class FitsFiles:
    """The FITS files of one observation, each opened once (events, GTI and IRFs often share one).

    Use as a context manager: the files are closed at the end.
    """

    def __init__(self, shared=None):
        """shared: a FitsFiles of files many observations use (a collection's calibration files),
        consulted first and left open, so that each is read once per collection."""
        self._open = {}
        self.shared = shared

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        for hdulist in self._open.values():
            hdulist.close()
        self._open.clear()

    def get(self, path):
        """The HDUList of a file; a missing or unreadable file is an IngestError naming it."""
        path = os.path.normpath(path)
        if self.shared is not None and path in self.shared.paths:
            return self.shared.get(path)
        if path not in self._open:
            self._open[path] = open_fits(path)
        return self._open[path]


def open_fits(path):
    """Opens a FITS file with all its headers read. A missing, empty, truncated, corrupt or non-FITS
    file, and one whose headers hold bytes FITS forbids, is an IngestError saying which of these it is."""
    if not os.path.isfile(path):
        raise IngestError("file not found", path)
    if os.path.getsize(path) == 0:
        raise IngestError("unreadable FITS file: empty (0 bytes)", path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hdulist = fits.open(path, memmap=False)
            hdulist.readall()
        try:
            _check_bytes(hdulist, path)
            _check_warnings(caught)
            _check_sums(hdulist)
        except BaseException:
            hdulist.close()
            raise
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise IngestError(f"unreadable FITS file: {describe_failure(exc)}", path) from exc
    return hdulist


def _check_sums(hdulist):
    """Where a producer wrote DATASUM/CHECKSUM, damaged bytes can be found: verify them."""
    for hdu in hdulist:
        for keyword, verify in (("DATASUM", hdu.verify_datasum), ("CHECKSUM", hdu.verify_checksum)):
            if keyword in hdu.header and verify() == 0:
                raise OSError(f"corrupt: the {keyword} of HDU {hdu.name or 'PRIMARY'} does not match")


# What astropy only warns about but what means that the bytes cannot be trusted (astropy 5.2 wording).
DAMAGE_WARNINGS = ("truncated", "extra bytes after the last HDU", "non-ASCII characters")


def _check_warnings(caught):
    for warning in caught:
        message = str(warning.message)
        if any(sign in message for sign in DAMAGE_WARNINGS):
            raise OSError(" ".join(message.split()))


def describe_failure(exc):
    """What an exception of astropy, gzip or zlib says about a file, in the terms of the error report."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, EOFError):
        return f"truncated ({text})"
    if isinstance(exc, (zlib.error, gzip.BadGzipFile)) or "CRC check failed" in text:
        return f"corrupt compressed data ({text})"
    if "SIMPLE card" in text or "Empty or corrupt FITS file" in text:
        return "not a FITS file (no SIMPLE card at its start)"
    if "END card" in text:
        return f"corrupt: a header does not end ({text})"
    return text


def _check_bytes(hdulist, path):
    """astropy reads a truncated file without complaint, returning the HDUs it found so far (even with
    partial data), and replaces header bytes outside ASCII by '?': check that the file holds everything
    its headers announce, nothing but a partial HDU after that, and headers of printable ASCII only."""
    # Each HDU's own fileinfo(), not HDUList.fileinfo(): that one formats every card, and fails on the
    # very cards this check is looking for.
    offsets = [(info["hdrLoc"], info["datLoc"]) for info in (hdu.fileinfo() for hdu in hdulist)]
    headers, size = _read_ranges(path, offsets)
    for index, raw in enumerate(headers):
        _check_header_bytes(raw, path, hdulist, index)
    last = offsets[-1][1] + hdulist[-1].size
    if last > size:
        raise EOFError(f"the headers announce {last} bytes, the file has {size}")
    if size > _padded(last):
        raise EOFError(f"{size - _padded(last)} bytes after the last complete HDU are not an HDU")


def _read_ranges(path, ranges):
    """The bytes of each (start, end) range of the FITS byte stream of a file, and the stream's length.
    A gzip file is decompressed to its end on the way: a truncated or damaged stream raises here."""
    with open(path, "rb") as f:
        compressed = f.read(2) == GZIP_MAGIC
    if not compressed:
        with open(path, "rb") as f:
            parts = []
            for start, end in ranges:
                f.seek(start)
                parts.append(f.read(end - start))
        return parts, os.path.getsize(path)
    parts, offset = [bytearray() for _ in ranges], 0
    with gzip.open(path, "rb") as f:
        while block := f.read(1 << 22):
            for (start, end), part in zip(ranges, parts):
                low, high = max(start, offset), min(end, offset + len(block))
                if low < high:
                    part += block[low - offset:high - offset]
            offset += len(block)
    return [bytes(part) for part in parts], offset


FORBIDDEN_HEADER_BYTE = re.compile(rb"[^\x20-\x7e]")


def _check_header_bytes(raw, path, hdulist, index):
    """FITS headers are printable ASCII (bytes 0x20-0x7E) only: name the card that holds anything else."""
    match = FORBIDDEN_HEADER_BYTE.search(raw)
    if match is None:
        return
    card = match.start() // CARD
    raise IngestError(header_byte_problem(raw[match.start()]), path, _hdu_label(hdulist, index),
                      _card_keyword(raw, card))


def _hdu_label(hdulist, index):
    """The EXTNAME of an HDU for a message, or 'HDU <n>' when the EXTNAME card is itself damaged."""
    try:
        return hdulist[index].name or "PRIMARY"
    except VerifyError:
        return f"HDU {index}"


def _card_keyword(raw, card):
    """The keyword of a card; for a CONTINUE card, that of the long-string card it continues."""
    while card > 0 and raw[card * CARD:card * CARD + 8] == b"CONTINUE":
        card -= 1
    keyword = raw[card * CARD:card * CARD + 8].decode("ascii", errors="replace").strip()
    return keyword or None


def header_byte_problem(byte):
    """Why a byte cannot stand in a header (and could not be published if it could)."""
    if byte >= 0x80:
        return (f"non-ASCII byte 0x{byte:02X} in the header: FITS headers hold printable ASCII only (astropy "
                "would read '?'); text beyond ASCII belongs in a binary table column, e.g. the obs-index OBJECT")
    name, reason = control_character_problem(byte)
    return f"{name} in the header: FITS headers hold printable ASCII only, and {reason}"


def _padded(size):
    return -(-size // BLOCK) * BLOCK
