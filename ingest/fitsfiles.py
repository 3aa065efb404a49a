"""Opening FITS files and reading header keywords and table columns, with failures turned into
IngestErrors naming file, HDU and keyword.

Two readers, for two jobs:
- The files of observations (events, GTIs, IRFs: FitsFiles, LocatedHdu) are read with CFITSIO, through
  fitsio. The ingest reads a few dozen keywords and a few columns of every observation; astropy builds
  a Python model of every card and column on the way (Card objects, ColDefs, FITS_rec), which made
  reading five times slower than CFITSIO for the same values (BENCHMARKS.md, ingest).
- Index tables (open_fits) are read with astropy: they are read once per collection, and their text
  cells may hold UTF-8 (an obs-index OBJECT), which fitsio 1.1 refuses to decode. The DataLink
  service writes its files with astropy too (datalink/products.py), opening the HDUs located here by
  their number (LocatedHdu.index).

Both check a file the same way before anything is read from it: it is whole (every byte its headers
announce is there, nothing but whole HDUs), its headers hold printable ASCII only (what CFITSIO and
astropy do with other bytes differs, and neither says so), and its checksums, where it has them, match.
"""

import functools
import gzip
import math
import os
import re
import warnings
import zlib
from collections.abc import Mapping

import fitsio
from astropy.io import fits
from astropy.io.fits.verify import VerifyError

from .errors import IngestError
from .values import control_character_problem, plain

GZIP_MAGIC = b"\x1f\x8b"
BLOCK = 2880  # FITS block
CARD = 80  # FITS header card
# How fitsio names the kinds of HDU, and how messages (and astropy) call them.
KIND_NAMES = {"IMAGE_HDU": "ImageHDU", "BINARY_TBL": "BinTableHDU", "ASCII_TBL": "TableHDU"}
TABLE_KINDS = ("BINARY_TBL", "ASCII_TBL")
# Card "names" that hold no keyword value of their own.
COMMENTARY = ("", "COMMENT", "HISTORY", "CONTINUE")


class Header(Mapping):
    """The keywords of one header: the first value of each, their comments, every keyword in
    file order, duplicates included (`keywords`), and the text of its COMMENT cards
    (`comment_cards`). Long strings (CONTINUE cards) come whole."""

    def __init__(self, records):
        self.keywords, self.comment_cards = [], []
        self._values, self.comments = {}, {}
        for record in records:
            name = record["name"].upper()
            self.keywords.append(name)
            if name == "COMMENT":
                self.comment_cards.append(str(record.get("value") or ""))
            if name in COMMENTARY or name in self._values:
                continue
            self._values[name] = record.get("value")
            self.comments[name] = record.get("comment") or ""
        self.has_duplicates = len(self._values) < len([k for k in self.keywords if k not in COMMENTARY])

    def correct(self, cards):
        """Takes the values and comments of these astropy Cards instead of what fitsio read."""
        for card in cards:
            self._values[card.keyword], self.comments[card.keyword] = card.value, card.comment

    def __getitem__(self, key):
        return self._values[key.upper()]

    def __contains__(self, key):
        return isinstance(key, str) and key.upper() in self._values

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)


class LocatedHdu:
    """One HDU of an observation file (read with CFITSIO), with the path and name error messages need."""

    def __init__(self, path, hdu):
        self.path = path
        self._hdu = hdu  # a fitsio HDU of a file FitsFiles keeps open
        self.index = hdu.get_extnum()  # the HDU's number in its file (0: primary)
        self.name = (hdu.get_extname() or "").upper() or "PRIMARY"
        self.raw_header = None  # the header's bytes, once FitsFile has checked them

    @functools.cached_property
    def header(self):
        try:
            header = Header(self._hdu.read_header_list())
        except (OSError, ValueError) as exc:
            raise IngestError(f"unreadable header: {exc}", self.path, self.name) from exc
        if self.raw_header is not None:
            header.correct(_misread_cards(self.raw_header, header))
        return header

    @property
    def kind(self):
        """What the HDU is, as astropy names it (ImageHDU, BinTableHDU, ...)."""
        if self.index == 0:
            return "PrimaryHDU"
        return KIND_NAMES.get(self._hdu.get_exttype(), self._hdu.get_exttype())

    @property
    def is_table(self):
        return self._hdu.get_exttype() in TABLE_KINDS

    @functools.cached_property
    def _column_names(self):
        """{UPPER-CASE NAME: (name as written, column number from 1)}. Where names differ only in
        case, the upper-case one is the GADF column (HAWC's EVENTS have 'ra' in radians beside 'RA'
        in degrees), else the first."""
        if not self.is_table:
            raise IngestError(f"{self.kind} where a binary table was expected (a layout this ingest"
                              " does not read)", self.path, self.name)
        names = {}
        for number, name in enumerate(self._hdu.get_colnames(), start=1):
            if name.upper() not in names or name == name.upper():
                names[name.upper()] = (name, number)
        return names

    @property
    def columns(self):
        """The upper-case names of the table columns (an image HDU where a table belongs, as in
        HAWC's map IRFs, is an IngestError naming its layout)."""
        return list(self._column_names)

    @property
    def nrows(self):
        return self._hdu.get_nrows() if self.is_table else 0

    @property
    def offsets(self):
        """{header_start, data_start, data_end}: where the HDU lies in the (uncompressed) file."""
        return self._hdu.get_offsets()

    @property
    def file_bytes(self):
        """Bytes the HDU takes in its (uncompressed) file: header blocks and padded data."""
        offsets = self.offsets
        return offsets["data_end"] - offsets["header_start"]

    def mandatory(self, key):
        """A keyword the GADF requires: its absence rejects the observation."""
        if key not in self.header:
            raise IngestError("missing mandatory keyword", self.path, self.name, key)
        value = self.optional(key)
        if value is None:
            raise IngestError("mandatory keyword has no value", self.path, self.name, key)
        return value

    def optional(self, key, default=None):
        """A keyword that may be absent; an empty value counts as absent."""
        value = plain(self.header.get(key))
        return default if value is None else value

    def column(self, name):
        """A table column as a numpy array; its absence rejects the observation."""
        if name.upper() not in self._column_names:
            raise IngestError("missing mandatory column", self.path, self.name, name)
        try:
            return self._hdu.read_column(self._column_names[name.upper()][0])
        except (OSError, ValueError, TypeError) as exc:
            raise IngestError(f"unreadable data: {exc}", self.path, self.name, name) from exc

    def column_unit(self, name):
        """TUNITn of a column, or None."""
        _, number = self._column_names.get(name.upper(), (None, None))
        return plain(self.header.get(f"TUNIT{number}")) if number else None

    def error(self, message, keyword=None):
        return IngestError(message, self.path, self.name, keyword)


class FitsFile:
    """An observation file opened with CFITSIO and checked (checked_headers, check_length): its HDUs as
    LocatedHdus."""

    def __init__(self, path):
        self.path = path
        if not os.path.isfile(path):
            raise IngestError("file not found", path)
        if os.path.getsize(path) == 0:
            raise IngestError("unreadable FITS file: empty (0 bytes)", path)
        try:
            self._fits = fitsio.FITS(path, case_sensitive=True)  # column names as written
        except (OSError, ValueError) as exc:
            raise _explained(path, exc) from None
        try:
            self.hdus = [LocatedHdu(path, hdu) for hdu in self._fits]
            offsets = [hdu.offsets for hdu in self.hdus]
            raw_headers, size = checked_headers(path, offsets, [hdu.name for hdu in self.hdus])
            for hdu, raw in zip(self.hdus, raw_headers):
                hdu.raw_header = raw
            check_length(path, offsets[-1]["data_start"] + data_bytes(self.hdus[-1].header), size)
            if any(_has_card(raw, SUM_CARD) for raw in raw_headers):
                with open_fits(path):  # astropy verifies the checksums, and says which does not match
                    pass
        except BaseException:
            self.close()
            raise

    def close(self):
        self._fits.close()


def _explained(path, exc):
    """The IngestError for a file CFITSIO cannot open: astropy's diagnosis (truncated, not FITS,
    corrupt compressed data, a damaged header...) where it has one, else CFITSIO's message."""
    try:
        with open_fits(path):
            pass
    except IngestError as diagnosis:
        return diagnosis
    text = " ".join(str(exc).split()) or type(exc).__name__
    return IngestError(f"unreadable FITS file: {text}", path)


class FitsFiles:
    """The observation files of one observation, each opened once (events, GTI and IRFs often share one).

    Use as a context manager: the files are closed at the end.
    """

    def __init__(self, shared=None):
        """shared: a SharedFitsFiles of files many observations use (a collection's calibration
        files), consulted first and left open, so that each is read once per collection."""
        self._open = {}
        self.shared = shared

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        for opened in self._open.values():
            opened.close()
        self._open.clear()

    def get(self, path):
        """The FitsFile of a path; a missing or unreadable file is an IngestError naming it."""
        path = os.path.normpath(path)
        if self.shared is not None and path in self.shared.paths:
            return self.shared.get(path)
        if path not in self._open:
            self._open[path] = FitsFile(path)
        return self._open[path]


class SharedFitsFiles(FitsFiles):
    """Files several observations share (paths known in advance), opened once and kept open."""

    def __init__(self, paths):
        super().__init__()
        self.paths = {os.path.normpath(p) for p in paths}
        self._pid = os.getpid()

    def get(self, path):
        # CFITSIO reads through the open file's offset, which a forked process shares with its parent
        # (the ingest reads in forked processes): a process reads through files it opened itself.
        if self._pid != os.getpid():
            self._open, self._pid = {}, os.getpid()
        return super().get(path)


# ---- index tables, with astropy


def open_fits(path):
    """An astropy HDUList of a file, with all its headers read and checked as FitsFile does. A missing,
    empty, truncated, corrupt or non-FITS file, and one whose headers hold bytes FITS forbids, is an
    IngestError saying which of these it is."""
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
            # Each HDU's own fileinfo(), not HDUList.fileinfo(): that one formats every card, and
            # fails on the very cards the check looks for.
            infos = [hdu.fileinfo() for hdu in hdulist]
            offsets = [{"header_start": i["hdrLoc"], "data_start": i["datLoc"]} for i in infos]
            _, size = checked_headers(path, offsets, _labels(hdulist))
            check_length(path, offsets[-1]["data_start"] + hdulist[-1].size, size)
            _check_warnings(caught)
            _check_sums(hdulist)
        except BaseException:
            hdulist.close()
            raise
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise IngestError(f"unreadable FITS file: {describe_failure(exc)}", path) from exc
    return hdulist


def _labels(hdulist):
    """The EXTNAME of each HDU for a message, or 'HDU <n>' where the EXTNAME card is itself damaged."""
    labels = []
    for index, hdu in enumerate(hdulist):
        try:
            labels.append(hdu.name or "PRIMARY")
        except VerifyError:
            labels.append(f"HDU {index}")
    return labels


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


# ---- the checks both readers make (what neither reliably says itself)


def checked_headers(path, offsets, labels):
    """The bytes of each HDU's header (offsets: each HDU's header_start and data_start in the FITS
    byte stream; labels: the HDUs' names), checked to be printable ASCII, and the length of the
    stream. astropy replaces other bytes by '?', CFITSIO passes them on, neither says so."""
    ranges = [(o["header_start"], o["data_start"]) for o in offsets]
    headers, size = _read_ranges(path, ranges)
    for index, raw in enumerate(headers):
        _check_header_bytes(raw, path, labels[index])
    return headers, size


def check_length(path, end, size):
    """A file is its HDUs, whole: astropy reads a truncated file without complaint (returning the HDUs
    it found, even with partial data), and CFITSIO does not look past the HDUs it found. end: where
    the last HDU's data ends (unpadded); size: the length of the FITS byte stream."""
    if end > size:
        raise IngestError(f"unreadable FITS file: truncated (the headers announce {end} bytes, the file"
                          f" has {size})", path)
    if size > _padded(end):
        raise IngestError(f"unreadable FITS file: truncated ({size - _padded(end)} bytes after the last"
                          " complete HDU are not an HDU)", path)


SUM_CARD = re.compile(rb"CHECKSUM=|DATASUM =")
CONTINUE_CARD = re.compile(rb"CONTINUE")


def _has_card(raw, pattern):
    """Whether a header's bytes have a card starting with pattern."""
    return any(match.start() % CARD == 0 for match in pattern.finditer(raw))


def _misread_cards(raw, header):
    """What fitsio 1.1 reads wrongly, read again with astropy, card by card: the value of a long
    string (a card continued by CONTINUE cards) whose text holds quotes or ampersands, and the first
    value of a duplicated keyword (it swaps them). astropy Cards of the first card of each keyword
    concerned; none for most headers (their bytes are only searched)."""
    duplicated = {k for k in header.keywords if k not in COMMENTARY} if header.has_duplicates else set()
    if not duplicated and not _has_card(raw, CONTINUE_CARD):
        return []
    cards, seen, count = [], set(), len(raw) // CARD
    for i in range(count):
        keyword = raw[i * CARD:i * CARD + 8].decode("ascii").strip()
        if keyword in COMMENTARY:
            continue
        end = i + 1
        while end < count and raw[end * CARD:end * CARD + 8] == b"CONTINUE":
            end += 1
        if keyword not in seen and (keyword in duplicated or end > i + 1):
            seen.add(keyword)
            cards.append(fits.Card.fromstring(raw[i * CARD:end * CARD].decode("ascii")))
    return cards


def data_bytes(header):
    """The size of an HDU's data in bytes, unpadded, from its header (FITS 4.0, section 4.4.1)."""
    naxis = int(header.get("NAXIS", 0))
    if naxis == 0:
        return 0
    elements = math.prod(int(header.get(f"NAXIS{i}", 0)) for i in range(1, naxis + 1))
    return abs(int(header.get("BITPIX", 8))) // 8 * int(header.get("GCOUNT", 1)) * (
        int(header.get("PCOUNT", 0)) + elements)


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
    try:
        with gzip.open(path, "rb") as f:
            while block := f.read(1 << 22):
                for (start, end), part in zip(ranges, parts):
                    low, high = max(start, offset), min(end, offset + len(block))
                    if low < high:
                        part += block[low - offset:high - offset]
                offset += len(block)
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(f"unreadable FITS file: {describe_failure(exc)}", path) from exc
    return [bytes(part) for part in parts], offset


FORBIDDEN_HEADER_BYTE = re.compile(rb"[^\x20-\x7e]")


def _check_header_bytes(raw, path, label):
    """FITS headers are printable ASCII (bytes 0x20-0x7E) only: name the card that holds anything else."""
    match = FORBIDDEN_HEADER_BYTE.search(raw)
    if match is None:
        return
    card = match.start() // CARD
    raise IngestError(header_byte_problem(raw[match.start()]), path, label, _card_keyword(raw, card))


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
