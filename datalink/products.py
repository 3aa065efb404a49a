"""The files the DataLink service delivers for one observation, each built as bytes.

Every FITS file is a new primary HDU (a copy of the source file's primary header) followed by copies
of source HDUs: headers keep every keyword (GADF HDUCLAS included), data arrays are the source's.
The bytes are deterministic (no dates, fixed tar and gzip times), so a rebuilt product has the size
announced before.
"""

import gzip
import io
import tarfile

import numpy as np
from astropy.io import fits

from .observation import IRF_TYPES

EVENT_LIST_TYPES = ("events", "gti", "pointing")  # what the #this file holds, in this order

# Keywords astropy writes itself from the table structure; everything else of a source header is
# copied when a table is rebuilt (the index tables).
STRUCTURAL_KEYWORDS = ("XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "TFIELDS", "EXTEND")
STRUCTURAL_PREFIXES = ("NAXIS", "TTYPE", "TFORM", "TUNIT", "TDIM", "TNULL", "TSCAL", "TZERO",
                       "TDISP")


# ---- FITS files


def _primary(obs):
    return fits.PrimaryHDU(header=obs.primary_header().copy())


def _copy(located):
    """A copy of a source table HDU: same header cards, same data."""
    return fits.BinTableHDU(data=located.hdu.data, header=located.hdu.header.copy())


def _fits_bytes(hdus):
    out = io.BytesIO()
    # output_verify="exception": never let astropy silently "fix" a header on the way out.
    fits.HDUList(hdus).writeto(out, output_verify="exception")
    return out.getvalue()


def event_list(obs):
    """#this: primary + EVENTS + GTI (+ POINTING), without the IRFs (clients get those separately)."""
    parts = [getattr(obs.hdus, name) for name in EVENT_LIST_TYPES]
    return _fits_bytes([_primary(obs)] + [_copy(p) for p in parts if p is not None])


def irf(obs, hdu_type):
    """#calibration: primary + the one IRF HDU of hdu_type (aeff, edisp, psf, bkg, rad_max)."""
    return _fits_bytes([_primary(obs), _copy(obs.hdus.irfs[hdu_type])])


def all_irfs(obs):
    """Primary + every IRF HDU of the observation (the IRF file of the package)."""
    return _fits_bytes([_primary(obs)] + [_copy(obs.hdus.irfs[t]) for t in IRF_TYPES
                                          if t in obs.hdus.irfs])


# ---- the package (event list + IRFs + indexes, for gammapy's DataStore.from_dir)


def package_names(obs_id):
    return {"events": f"obs_{obs_id}_events.fits", "irfs": f"obs_{obs_id}_irfs.fits",
            "hdu_index": "hdu-index.fits.gz", "obs_index": "obs-index.fits.gz"}


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


def hdu_index_table(obs, source_index_header, names):
    """The package's hdu-index: the observation's rows, pointing to the package's two files."""
    rows = []
    for entry in obs.entries:
        if entry.hdu_type in EVENT_LIST_TYPES:
            file_name, hdu_name = names["events"], _extname(obs, entry.hdu_type)
        elif entry.hdu_type in IRF_TYPES:
            file_name, hdu_name = names["irfs"], _extname(obs, entry.hdu_type)
        else:
            continue  # a type the package does not carry
        rows.append((int(obs.obs_id), entry.hdu_type, entry.hdu_class, ".", file_name, hdu_name))
    columns = [
        fits.Column("OBS_ID", "K", array=np.array([r[0] for r in rows], dtype=np.int64)),
        fits.Column("HDU_TYPE", "A20", array=[r[1] for r in rows]),
        fits.Column("HDU_CLASS", "A20", array=[r[2] for r in rows]),
        fits.Column("FILE_DIR", "A20", array=[r[3] for r in rows]),
        fits.Column("FILE_NAME", "A60", array=[r[4] for r in rows]),
        fits.Column("HDU_NAME", "A20", array=[r[5] for r in rows]),
    ]
    table = fits.BinTableHDU.from_columns(columns)
    _copy_meta(source_index_header, table.header)
    table.header["EXTNAME"] = "HDU_INDEX"
    return table


def _extname(obs, hdu_type):
    """The EXTNAME the HDU has in the package (the source's; copies keep it)."""
    if hdu_type in IRF_TYPES:
        located = obs.hdus.irfs[hdu_type]
    else:
        located = getattr(obs.hdus, hdu_type)
    return located.hdu.name


def obs_index_table(obs, source_obs_index):
    """The package's obs-index: the source obs-index's row of this observation (all columns and
    header keywords), or, without an obs-index, one row from the EVENTS header."""
    if source_obs_index is not None:
        rows = source_obs_index.data[_obs_id_mask(source_obs_index.data["OBS_ID"], obs.obs_id)]
        return fits.BinTableHDU(data=rows, header=source_obs_index.header.copy())
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


def _obs_id_mask(column, obs_id):
    return np.array([str(int(v)) == obs_id for v in column])


def _gzipped_fits(table):
    return gzip.compress(_fits_bytes([fits.PrimaryHDU(), table]), mtime=0)


def package(obs, source_hdu_index_header, source_obs_index, mtime):
    """#package: an uncompressed tar of the event list, the IRFs and the two indexes.

    mtime (seconds) is the members' modification time: the source's, so the bytes are stable.
    """
    names = package_names(obs.obs_id)
    members = [
        (names["hdu_index"], _gzipped_fits(hdu_index_table(obs, source_hdu_index_header, names))),
        (names["obs_index"], _gzipped_fits(obs_index_table(obs, source_obs_index))),
        (names["events"], event_list(obs)),
        (names["irfs"], all_irfs(obs)),
    ]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(mtime), 0o644
            tar.addfile(info, io.BytesIO(data))
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
