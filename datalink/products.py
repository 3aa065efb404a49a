"""The files the DataLink service delivers for one dataset (an observation or an event subset), each
built as bytes.

Every FITS file is a new primary HDU (a copy of the source file's primary header) followed by copies
of source HDUs: headers keep every keyword (GADF HDUCLAS included), data arrays are the source's.
A map IRF (HAWC's, gammapy's IRF maps) is an image with a bands table (and maybe an exposure map):
its copy brings them along, the bands table named <EXTNAME>_BANDS, after every IRF HDU itself.
The bytes are deterministic (no dates, fixed tar and gzip times), so a rebuilt product has the size
announced before.
"""

import functools
import gzip
import io

import numpy as np
from astropy.io import fits
from astropy.table import Table, vstack

from . import tarstream
from .observation import EVENT_LIST_TYPES, IRF_TYPES  # what #this holds, in this order; the IRFs

# Keywords astropy writes itself from the table structure; everything else of a source header is
# copied when a table is rebuilt (the index tables).
STRUCTURAL_KEYWORDS = ("XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "TFIELDS", "EXTEND")
STRUCTURAL_PREFIXES = ("NAXIS", "TTYPE", "TFORM", "TUNIT", "TDIM", "TNULL", "TSCAL", "TZERO",
                       "TDISP")


# ---- FITS files


def _primary(obs):
    return fits.PrimaryHDU(header=obs.primary_header().copy())


def _copy(obs, located):
    """A copy of a located source table HDU: same header cards, same data."""
    hdu = obs.astropy_hdu(located)
    return fits.BinTableHDU(data=hdu.data, header=hdu.header.copy())


def _copy_image(hdu, extname):
    """An image HDU (a primary one too: HAWC's background maps) as an image extension named extname."""
    header = hdu.header.copy()
    for key in ("SIMPLE", "EXTEND"):
        header.remove(key, ignore_missing=True, remove_all=True)
    copy = fits.ImageHDU(data=hdu.data, header=header)
    copy.header["EXTNAME"] = extname
    return copy


def _irf_hdus(obs, hdu_type):
    """(the IRF's HDU, [the HDUs it needs]) as copied into a product: a table alone; a map with its
    bands table and its exposure map where the file has them (gammapy: <name>_EXPOSURE)."""
    located = obs.hdus.irfs[hdu_type]
    if located.is_table and "BANDSHDU" not in located.header:
        return _copy(obs, located), []
    source = obs.hdulist(located.path)
    name = located.name if located.name != "PRIMARY" else hdu_type.upper()
    main = _copy(obs, located) if located.is_table else _copy_image(obs.astropy_hdu(located), name)
    extras = _bands(source, obs.astropy_hdu(located), main, name)
    exposure = f"{located.name}_EXPOSURE"
    if exposure in source:
        copy = _copy_image(source[exposure], f"{name}_EXPOSURE")
        extras += [copy] + _bands(source, source[exposure], copy, f"{name}_EXPOSURE")
    return main, extras


def _bands(source, hdu, copy, name):
    """The bands table of a map (BANDSHDU, else gammapy's default <EXTNAME>_BANDS) renamed
    <name>_BANDS, the copy's BANDSHDU pointing to it: HAWC's background map, a primary HDU, calls
    its own PRIMARY_BANDS, which cannot stay so beside other maps."""
    bands = hdu.header.get("BANDSHDU") or f"{hdu.name}_BANDS"
    if bands not in source:
        return []
    table = fits.BinTableHDU(data=source[bands].data, header=source[bands].header.copy())
    table.header["EXTNAME"] = copy.header["BANDSHDU"] = f"{name}_BANDS"
    return [table]


def _irf_file(obs, hdu_types):
    """Primary + the IRF HDUs of hdu_types in that order, then what the maps among them need."""
    mains, extras = [], []
    for hdu_type in hdu_types:
        main, needed = _irf_hdus(obs, hdu_type)
        mains.append(main)
        extras += needed
    return _fits_bytes([_primary(obs)] + mains + extras)


def _fits_bytes(hdus):
    out = io.BytesIO()
    # output_verify="exception": never let astropy silently "fix" a header on the way out.
    fits.HDUList(hdus).writeto(out, output_verify="exception")
    return out.getvalue()


def event_list(obs):
    """#this: primary + EVENTS + GTI (+ POINTING), without the IRFs (clients get those separately)."""
    parts = [getattr(obs.hdus, name) for name in EVENT_LIST_TYPES]
    return _fits_bytes([_primary(obs)] + [_copy(obs, p) for p in parts if p is not None])


def irf(obs, hdu_type):
    """#calibration: primary + the one IRF HDU of hdu_type (aeff, edisp, psf, bkg, rad_max)."""
    return _irf_file(obs, [hdu_type])


def all_irfs(obs):
    """Primary + every IRF HDU of the dataset (the IRF file of the package): the IRFs in IRF_TYPES
    order first (hdu_index_rows_of_files relies on it), then the bands tables of maps."""
    return _irf_file(obs, [t for t in IRF_TYPES if t in obs.hdus.irfs])


# ---- the package (event list + IRFs + indexes, for gammapy's DataStore.from_dir)


def package_names(dataset):
    """The file names of a dataset's event list and IRFs in packages and bundles (dataset: its key,
    which is the OBS_ID for a whole observation)."""
    return {"events": f"obs_{dataset}_events.fits", "irfs": f"obs_{dataset}_irfs.fits"}


def _copy_meta(source_header, header):
    """Copies the non-structural keywords (HDUCLASn, EXTNAME, BASE_DIR is dropped) of an index."""
    for card in source_header.cards:
        key = card.keyword
        if key in STRUCTURAL_KEYWORDS or key.startswith(STRUCTURAL_PREFIXES) or key == "BASE_DIR":
            continue
        if key in ("COMMENT", "HISTORY", ""):
            header.append(card)
        else:
            header[key] = (card.value, card.comment)


def hdu_index_rows(obs, names):
    """The hdu-index rows of an observation in a package: its rows, pointing to the package's
    two files (names: package_names)."""
    rows = []
    for entry in obs.entries:
        if entry.hdu_type in EVENT_LIST_TYPES:
            file_name = names["events"]
        elif entry.hdu_type in IRF_TYPES:
            file_name = names["irfs"]
        else:
            continue  # a type the package does not carry
        rows.append((int(obs.obs_id), entry.hdu_type, entry.hdu_class, ".", file_name,
                     _extname(obs, entry.hdu_type)))
    return rows


def hdu_index_rows_of_files(entries, names, events_path, irfs_path):
    """hdu_index_rows of an observation whose package files (event_list, all_irfs) are built:
    the HDU names are read from those files' headers, without opening the source files (the
    first extensions are the HDUs of the types present, in order; bands tables of maps follow)."""
    rows, obs_id = [], entries[0].obs_id
    types = {}
    for entry in entries:  # the first row of a type is the one used (ingest locate_observation)
        types.setdefault(entry.hdu_type, entry)
    for path, file_name, kinds in ((events_path, names["events"], EVENT_LIST_TYPES),
                                   (irfs_path, names["irfs"], IRF_TYPES)):
        present = [t for t in kinds if t in types]
        extnames = extension_names(path)
        for hdu_type, extname in zip(present, extnames):
            rows.append((int(obs_id), hdu_type, types[hdu_type].hdu_class, ".", file_name, extname))
    return rows


@functools.lru_cache(maxsize=4096)
def extension_names(path):
    """The EXTNAMEs of the extensions of a plain FITS file we wrote, read from the raw headers:
    a bundle of a thousand observations must not parse every card with astropy. Kept per path, so
    that a bundle read again does not read them again: a built file never changes under its path
    (cache.py)."""
    names = []
    with open(path, "rb") as f:
        first = True
        while True:
            cards = _header_cards(f)
            if cards is None:
                return tuple(names)
            if not first:
                names.append(cards.get("EXTNAME", "").strip("' ").strip())
            first = False
            f.seek(_data_size(cards), 1)


def _header_cards(f):
    """{keyword: raw value text} of the next header (f at its start), or None at the end."""
    cards = {}
    while True:
        block = f.read(2880)
        if len(block) < 2880:
            return None
        for i in range(0, 2880, 80):
            card = block[i:i + 80].decode("ascii", "replace")
            key = card[:8].strip()
            if key == "END":
                return cards
            if card[8:10] == "= " and key not in cards:
                cards[key] = card[10:].split(" /")[0].strip()


def _data_size(cards):
    """Bytes of an HDU's data, padded to whole FITS blocks."""
    naxis = int(cards.get("NAXIS", 0))
    if naxis == 0:
        return 0
    count = 1
    for n in range(1, naxis + 1):
        count *= int(cards[f"NAXIS{n}"])
    size = abs(int(cards["BITPIX"])) // 8 * int(cards.get("GCOUNT", 1)) * (
        int(cards.get("PCOUNT", 0)) + count)
    return size + (-size % 2880)


def hdu_index_table(rows, source_index_header):
    """A package's hdu-index from hdu_index_rows, with the source index's keywords."""
    names = ("HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME")
    columns = [fits.Column("OBS_ID", "K", array=np.array([r[0] for r in rows], dtype=np.int64))]
    for i, name in enumerate(names, start=1):
        values = [r[i] for r in rows]
        # As wide as the longest value: EXTNAMEs such as "POINT SPREAD FUNCTION" must not be cut.
        width = max([len(v) for v in values] + [1])
        columns.append(fits.Column(name, f"A{width}", array=values))
    table = fits.BinTableHDU.from_columns(columns)
    _copy_meta(source_index_header, table.header)
    table.header["EXTNAME"] = "HDU_INDEX"
    return table


def _extname(obs, hdu_type):
    """The EXTNAME the HDU has in the package (the source's, which copies keep; a map in a primary
    HDU without a name is named after its type, as _irf_hdus names it)."""
    if hdu_type in IRF_TYPES:
        located = obs.hdus.irfs[hdu_type]
        return located.name if located.name != "PRIMARY" else hdu_type.upper()
    return getattr(obs.hdus, hdu_type).name


def obs_index_rows(source_obs_index, obs_ids):
    """The source obs-index's rows of these observations (all columns and header keywords)."""
    wanted = {int(obs_id) for obs_id in obs_ids}
    column = np.asarray(source_obs_index.data["OBS_ID"])
    # OBS_ID is an integer column in GADF; some files have it as text.
    if column.dtype.kind in "iu":
        ids = column.astype(np.int64)
    else:
        ids = np.array([int(v) for v in column])
    rows = source_obs_index.data[np.isin(ids, list(wanted))]
    return fits.BinTableHDU(data=rows, header=source_obs_index.header.copy())


def obs_index_table(obs, source_obs_index):
    """The package's obs-index: the source obs-index's row of this observation (all columns and
    header keywords), or, without an obs-index, one row from the EVENTS header."""
    if source_obs_index is not None:
        return obs_index_rows(source_obs_index, [obs.obs_id])
    header = obs.hdus.events.header
    keys = [k for k in ("RA_PNT", "DEC_PNT", "ALT_PNT", "AZ_PNT", "ZEN_PNT", "TSTART", "TSTOP",
                        "ONTIME", "LIVETIME", "DEADC", "N_TELS", "OBJECT") if k in header]
    columns = [fits.Column("OBS_ID", "K", array=np.array([int(obs.obs_id)]))]
    for key in keys:
        value = header[key]
        if isinstance(value, str):
            columns.append(fits.Column(key, f"A{max(len(value), 1)}", array=[value]))
        else:
            columns.append(fits.Column(key, "D", array=np.array([value], dtype=float)))
    table = fits.BinTableHDU.from_columns(columns)
    for key in ("HDUCLASS", "HDUDOC", "HDUVERS", "MJDREFI", "MJDREFF", "TIMEUNIT", "TIMESYS",
                "TIMEREF", "TELESCOP", "GEOLON", "GEOLAT", "ALTITUDE"):
        if key in header:
            table.header[key] = header[key]
    table.header["HDUCLAS1"] = "INDEX"
    table.header["HDUCLAS2"] = "OBS"
    table.header["EXTNAME"] = "OBS_INDEX"
    return table


def merged_obs_index(tables):
    """One obs-index of the one-row tables of obs_index_table (possibly from several collections:
    columns are the union, times are moved to the first table's MJDREF)."""
    if len(tables) == 1:
        return tables[0]
    header = tables[0].header
    reference = _mjdref(header)
    rows = []
    for hdu in tables:
        table = Table.read(hdu, format="fits")
        shift = (_mjdref(hdu.header) - reference) * 86400.0
        for column in ("TSTART", "TSTOP"):
            if shift and column in table.colnames:
                table[column] = table[column] + shift
        table.meta = {}
        rows.append(table)
    merged = vstack(rows, join_type="outer", metadata_conflicts="silent")
    result = fits.table_to_hdu(merged)
    _copy_meta(header, result.header)
    return result


def _mjdref(header):
    return float(header.get("MJDREFI", 0)) + float(header.get("MJDREFF", 0))


def gzipped_fits(table):
    return gzip.compress(_fits_bytes([fits.PrimaryHDU(), table]), mtime=0)


def package_members(obs, source_hdu_index_header, source_obs_index):
    """(name, bytes) of every member of an observation's #package."""
    names = package_names(obs.dataset)
    index = hdu_index_table(hdu_index_rows(obs, names), source_hdu_index_header)
    return [
        (names["events"], event_list(obs)),
        (names["irfs"], all_irfs(obs)),
        ("hdu-index.fits.gz", gzipped_fits(index)),
        ("obs-index.fits.gz", gzipped_fits(obs_index_table(obs, source_obs_index))),
    ]


def package(obs, source_hdu_index_header, source_obs_index, mtime):
    """#package: an uncompressed tar of the event list, the IRFs and the two indexes.

    mtime (seconds) is the members' modification time: the source's, so the bytes are stable.
    """
    out = io.BytesIO()
    tarstream.write_tar(out, package_members(obs, source_hdu_index_header, source_obs_index),
                        mtime)
    return out.getvalue()


# ---- documentation


def documentation(collection, readme_text):
    """#documentation: what the collection is and its terms of use, as plain text."""
    parts = [collection.title or collection.obs_collection, "=" * len(collection.title or ""), ""]
    if collection.description:
        parts += [collection.description, ""]
    if collection.reference_url:
        parts += [f"Documentation: {collection.reference_url}", ""]
    if collection.bib_reference:
        parts += [f"Reference: {collection.bib_reference}", ""]
    if collection.licence:
        parts += ["Terms of use", "------------", collection.licence, ""]
    if readme_text:
        name = collection.licence_file or "README"
        parts += [f"The release's {name}", "-" * (len(name) + 14), readme_text]
    return ("\n".join(parts).rstrip() + "\n").encode("utf-8")
