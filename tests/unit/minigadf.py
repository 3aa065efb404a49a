"""A small, valid GADF collection written with astropy, for tests that vary one thing at a time.

`write_collection(directory)` writes one observation (OBS_ID 1001) like an H.E.S.S. DR1 file: EVENTS, GTI
and full-enclosure AEFF, EDISP, PSF (3 Gaussians) and BKG in `data/obs_1001.fits.gz`, an hdu-index and an
obs-index. Header values are those of H.E.S.S. DR1 obs 23523 (so times, pointing and site agree with each
other), the IRFs are simple enough that the row's values are known by hand:

- 200 events, 0.5 to 50 TeV, 0 to 1.45 deg from the pointing;
- AEFF: LO_THRES 0.7, HI_THRES 80 TeV, offsets up to 3 deg (s_fov 6);
- PSF: one Gaussian of sigma 0.1 deg (s_resolution = 2 sqrt(2 ln 2) 0.1 deg = 847.8");
- EDISP: a migration pdf of FWHM 0.2 at every energy and offset (em_res_power 5).

Each test then edits what it is about: `edit_header`, `rewrite_hdu_index`, or its own files.
"""

import math
import os
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits

OBS_ID = 1001
T_MIN = 53343.92159722  # MJD UTC of TSTART below (H.E.S.S. DR1 23523, the spec's worked value)
PSF_SIGMA_DEG = 0.1
PSF_FWHM_ARCSEC = 2 * math.sqrt(2 * math.log(2)) * PSF_SIGMA_DEG * 3600
EVENTS_HEADER = {
    "HDUCLASS": "GADF", "HDUDOC": "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats",
    "HDUVERS": "0.2", "HDUCLAS1": "EVENTS",
    "OBS_ID": OBS_ID, "TSTART": 123890826.0, "TSTOP": 123892513.0,
    "MJDREFI": 51910, "MJDREFF": 0.000742870370370241, "TIMEUNIT": "s", "TIMESYS": "TT", "TIMEREF": "local",
    "ONTIME": 1687.0, "LIVETIME": 1581.73681640625, "DEADC": 0.937603298574686,
    "OBJECT": "Crab Nebula", "RA_OBJ": 83.633333333333, "DEC_OBJ": 22.014444444444,
    "RA_PNT": 83.633333333333, "DEC_PNT": 21.514444444444,
    "ALT_PNT": 41.3897890380338, "AZ_PNT": 22.4817052274739,
    "RADECSYS": "FK5", "EQUINOX": 2000.0, "CONV_DEP": 0.0, "OBS_MODE": "WOBBLE",
    "N_TELS": 4, "TELLIST": "1,2,3,4", "INSTRUME": "Test array", "EV_CLASS": "std",
    "GEOLAT": -23.2717777777778, "GEOLON": 16.5002222222222, "ALTITUDE": 1835.0,
    "DATE-OBS": "2004-12-04", "TIME-OBS": "22:08:10.184",
    "DATE-END": "2004-12-04", "TIME-END": "22:36:17.184",
}
GTI_HEADER = {
    "HDUCLASS": "GADF", "HDUCLAS1": "GTI",
    "MJDREFI": 51910, "MJDREFF": 0.000742870370370241, "TIMEUNIT": "s", "TIMESYS": "TT",
}
IRF_HEADER = {"HDUCLASS": "GADF", "HDUVERS": "0.2", "HDUCLAS1": "RESPONSE"}
ENERGY_EDGES = np.geomspace(0.1, 100.0, 13)  # TeV
OFFSET_EDGES = np.array([0.0, 1.0, 2.0, 3.0])  # deg
MIGRA_EDGES = np.linspace(0.21, 3.01, 141)  # bins of 0.02, one centred on 1


# ---- HDUs


def events_hdu(n=200, header=None, extname="EVENTS"):
    """n events between 0.5 and 50 TeV, spread from 0 to 1.45 deg around the pointing."""
    ra0, dec0 = EVENTS_HEADER["RA_PNT"], EVENTS_HEADER["DEC_PNT"]
    offsets = np.linspace(0.0, 1.45, n)
    angles = np.radians(np.arange(n) * 137.5)  # golden angle: evenly around the pointing
    dec = dec0 + offsets * np.cos(angles)
    ra = ra0 + offsets * np.sin(angles) / np.cos(np.radians(dec0))
    columns = [
        fits.Column(name="EVENT_ID", format="K", array=np.arange(1, n + 1)),
        fits.Column(name="TIME", format="D", unit="s",
                    array=np.linspace(EVENTS_HEADER["TSTART"], EVENTS_HEADER["TSTOP"], n)),
        fits.Column(name="RA", format="E", unit="deg", array=ra),
        fits.Column(name="DEC", format="E", unit="deg", array=dec),
        fits.Column(name="ENERGY", format="E", unit="TeV", array=np.geomspace(0.5, 50.0, n)),
    ]
    return _table(columns, extname, {**EVENTS_HEADER, **(header or {})})


def gti_hdu(starts=(EVENTS_HEADER["TSTART"],), stops=(EVENTS_HEADER["TSTOP"],), header=None, extname="GTI"):
    columns = [fits.Column(name="START", format="D", unit="s", array=np.asarray(starts, dtype=float)),
               fits.Column(name="STOP", format="D", unit="s", array=np.asarray(stops, dtype=float))]
    return _table(columns, extname, {**GTI_HEADER, **(header or {})})


def aeff_hdu(point_like=False, header=None, extname="AEFF"):
    area = np.full((len(OFFSET_EDGES) - 1, len(ENERGY_EDGES) - 1), 1e5)
    values = {**IRF_HEADER, "HDUCLAS2": "EFF_AREA", "HDUCLAS3": _irf_class(point_like), "HDUCLAS4": "AEFF_2D",
              "LO_THRES": 0.7, "HI_THRES": 80.0}
    return _irf_table(extname, {"EFFAREA": (area, "m2")}, {**values, **(header or {})})


def edisp_hdu(point_like=False, header=None, extname="EDISP"):
    """A triangular migration pdf peaking at 1 with half-maximum points 0.9 and 1.1: FWHM 0.2."""
    centres = (MIGRA_EDGES[:-1] + MIGRA_EDGES[1:]) / 2
    pdf = np.clip(1.0 - np.abs(centres - 1.0) / 0.2, 0.0, None)
    matrix = np.broadcast_to(pdf[None, :, None], (len(OFFSET_EDGES) - 1, len(pdf), len(ENERGY_EDGES) - 1))
    values = {**IRF_HEADER, "HDUCLAS2": "EDISP", "HDUCLAS3": _irf_class(point_like), "HDUCLAS4": "EDISP_2D"}
    extra = [fits.Column(name="MIGRA_LO", format=f"{len(centres)}E", array=[MIGRA_EDGES[:-1]]),
             fits.Column(name="MIGRA_HI", format=f"{len(centres)}E", array=[MIGRA_EDGES[1:]])]
    return _irf_table(extname, {"MATRIX": (matrix, "")}, {**values, **(header or {})}, extra)


def psf_hdu(header=None, extname="PSF"):
    """PSF_3GAUSS with one Gaussian (AMPL_2 = AMPL_3 = 0) of sigma PSF_SIGMA_DEG everywhere."""
    shape = (len(OFFSET_EDGES) - 1, len(ENERGY_EDGES) - 1)
    arrays = {"SCALE": (np.ones(shape), ""), "SIGMA_1": (np.full(shape, PSF_SIGMA_DEG), "deg"),
              "AMPL_2": (np.zeros(shape), ""), "SIGMA_2": (np.full(shape, 0.2), "deg"),
              "AMPL_3": (np.zeros(shape), ""), "SIGMA_3": (np.full(shape, 0.3), "deg")}
    values = {**IRF_HEADER, "HDUCLAS2": "RPSF", "HDUCLAS3": "FULL-ENCLOSURE", "HDUCLAS4": "PSF_3GAUSS"}
    return _irf_table(extname, arrays, {**values, **(header or {})})


def bkg_hdu(extname="BKG"):
    edges = np.linspace(-3.0, 3.0, 4)
    columns = [fits.Column(name=name, format="3E", unit="deg", array=[values])
               for name, values in (("DETX_LO", edges[:-1]), ("DETX_HI", edges[1:]),
                                    ("DETY_LO", edges[:-1]), ("DETY_HI", edges[1:]))]
    columns += [fits.Column(name="ENERG_LO", format="2E", unit="TeV", array=[[0.1, 1.0]]),
                fits.Column(name="ENERG_HI", format="2E", unit="TeV", array=[[1.0, 100.0]]),
                fits.Column(name="BKG", format="18E", unit="MeV-1 s-1 sr-1", dim="(3,3,2)",
                            array=[np.ones((2, 3, 3))])]
    header = {**IRF_HEADER, "HDUCLAS2": "BKG", "HDUCLAS3": "FULL-ENCLOSURE", "HDUCLAS4": "BKG_3D"}
    return _table(columns, extname, header)


def map_irf_hdus(extname, primary=False):
    """A map IRF as HAWC writes them: a WCS image (energy, lat, lon: 3 x 4 x 4) and its bands table
    (named by BANDSHDU; <EXTNAME>_BANDS, or PRIMARY_BANDS for a map in the primary HDU)."""
    bands_name = "PRIMARY_BANDS" if primary else f"{extname}_BANDS"
    header = fits.Header({"WCSAXES": 2, "CTYPE1": "RA---CAR", "CTYPE2": "DEC--CAR", "CRPIX1": 2.5, "CRPIX2": 2.5,
                          "CDELT1": -0.5, "CDELT2": 0.5, "CRVAL1": 83.63, "CRVAL2": 22.0, "CUNIT1": "deg",
                          "CUNIT2": "deg", "AXCOLS1": "E_MIN,E_MAX", "BANDSHDU": bands_name, "EXTNAME": extname})
    data = np.arange(48, dtype=np.float32).reshape(3, 4, 4)
    image = fits.PrimaryHDU(data=data, header=header) if primary else fits.ImageHDU(data=data, header=header)
    edges = np.geomspace(1.0, 100.0, 4)
    bands = fits.BinTableHDU.from_columns([
        fits.Column(name="CHANNEL", format="K", array=np.arange(3)),
        fits.Column(name="E_MIN", format="D", unit="TeV", array=edges[:-1]),
        fits.Column(name="E_MAX", format="D", unit="TeV", array=edges[1:])], name=bands_name)
    bands.header["AXCOLS1"] = "E_MIN,E_MAX"
    return [image, bands]


def drift_events_hdu(n, header=None):
    """n events of a drift-scan instrument (OBS_MODE DRIFT, no RA_PNT/DEC_PNT, ALT_PNT = AZ_PNT = 0,
    a text OBS_ID as HAWC writes): spread up to 2 deg around (83.63, 22.01)."""
    drift = {"OBS_MODE": "DRIFT", "RA_PNT": None, "DEC_PNT": None, "ALT_PNT": 0.0, "AZ_PNT": 0.0,
             "TIMESYS": "TAI", "OBS_ID": "chunks 1 - 2", "RADECSYS": "ICRS", "CONV_DEP": None, "N_TELS": None, "TELLIST": None}
    hdu = events_hdu(n=n)
    _apply(hdu.header, {**drift, **(header or {})})
    offsets = np.linspace(0.0, 2.0, n)
    angles = np.radians(np.arange(n) * 137.5)
    hdu.data["DEC"] = 22.01 + offsets * np.cos(angles)
    hdu.data["RA"] = 83.63 + offsets * np.sin(angles) / np.cos(np.radians(22.01))
    return hdu


def rad_max_hdu(values_by_energy, extname="RAD_MAX"):
    """RAD_MAX_2D: the on-region radius (deg) per energy bin, the same at every offset."""
    values = np.array([values_by_energy] * (len(OFFSET_EDGES) - 1), dtype=float)
    header = {**IRF_HEADER, "HDUCLAS2": "RAD_MAX", "HDUCLAS3": "POINT-LIKE", "HDUCLAS4": "RAD_MAX_2D"}
    edges = np.geomspace(0.1, 100.0, values.shape[1] + 1)
    return _irf_table(extname, {"RAD_MAX": (values, "deg")}, header, energy_edges=edges)


def _irf_class(point_like):
    return "POINT-LIKE" if point_like else "FULL-ENCLOSURE"


def _irf_table(extname, arrays, header, extra_columns=(), energy_edges=ENERGY_EDGES):
    """A one-row IRF table: ENERG/THETA axes, extra axis columns, then the arrays ({name: (array, unit)}
    in numpy order [offset, (migra,) energy], written with TDIM)."""
    n_energy, n_offset = len(energy_edges) - 1, len(OFFSET_EDGES) - 1
    columns = [fits.Column(name="ENERG_LO", format=f"{n_energy}E", unit="TeV", array=[energy_edges[:-1]]),
               fits.Column(name="ENERG_HI", format=f"{n_energy}E", unit="TeV", array=[energy_edges[1:]]),
               fits.Column(name="THETA_LO", format=f"{n_offset}E", unit="deg", array=[OFFSET_EDGES[:-1]]),
               fits.Column(name="THETA_HI", format=f"{n_offset}E", unit="deg", array=[OFFSET_EDGES[1:]]),
               *extra_columns]
    for name, (values, unit) in arrays.items():
        values = np.asarray(values, dtype=np.float32)
        dim = "(" + ",".join(str(n) for n in reversed(values.shape)) + ")"
        columns.append(fits.Column(name=name, format=f"{values.size}E", unit=unit or None, dim=dim,
                                   array=[values]))
    return _table(columns, extname, header)


def _table(columns, extname, header):
    hdu = fits.BinTableHDU.from_columns(columns, name=extname)
    for key, value in header.items():
        if value is not None:
            hdu.header[key] = value
    return hdu


def write_fits(path, hdus):
    """A FITS file of a primary HDU and `hdus` (gzip-compressed when the name ends in .gz)."""
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    fits.HDUList([fits.PrimaryHDU(), *hdus]).writeto(str(path), overwrite=True)
    return str(path)


# ---- indexes


@dataclass
class IndexRow:
    """One hdu-index row."""

    obs_id: object
    hdu_type: str
    hdu_class: str
    file_dir: str
    file_name: str
    hdu_name: str
    event_class: str = None  # written as EVENT_CLASS / EVENT_TYPE columns where a row has one
    event_type: object = None


def observation_rows(obs_id=OBS_ID, file_dir="data", file_name=None, irfs=("aeff", "edisp", "psf", "bkg")):
    """The hdu-index rows of an observation whose HDUs are all in one file, named as H.E.S.S. does."""
    file_name = file_name or f"obs_{obs_id}.fits.gz"
    classes = {"events": "events", "gti": "gti", "aeff": "aeff_2d", "edisp": "edisp_2d", "psf": "psf_3gauss",
               "bkg": "bkg_3d", "rad_max": "rad_max_2d"}
    return [IndexRow(obs_id, hdu_type, classes[hdu_type], file_dir, file_name, hdu_type.upper())
            for hdu_type in ("events", "gti", *irfs)]


def write_hdu_index(path, rows, obs_id_format="K", extname="HDU_INDEX", header=None):
    """An hdu-index of IndexRows; obs_id_format 'K', 'D' or '10A' (OBS_ID written as text)."""
    obs_ids = [row.obs_id for row in rows]
    obs_id_array = [str(o) for o in obs_ids] if obs_id_format.endswith("A") else np.array(obs_ids)
    columns = [fits.Column(name="OBS_ID", format=obs_id_format, array=obs_id_array)]
    for name, attribute, width in (("HDU_TYPE", "hdu_type", 10), ("HDU_CLASS", "hdu_class", 20),
                                   ("FILE_DIR", "file_dir", 60), ("FILE_NAME", "file_name", 40),
                                   ("HDU_NAME", "hdu_name", 30)):
        columns.append(fits.Column(name=name, format=f"{width}A", array=[getattr(r, attribute) for r in rows]))
    if any(r.event_class is not None for r in rows):
        columns.append(fits.Column(name="EVENT_CLASS", format="8A", array=[r.event_class or "" for r in rows]))
    if any(r.event_type is not None for r in rows):
        columns.append(fits.Column(name="EVENT_TYPE", format="K", null=-1,  # TNULL: an empty cell
                                   array=np.array([-1 if r.event_type is None else r.event_type for r in rows])))
    table = _table(columns, extname, {"HDUCLASS": "GADF", "HDUCLAS1": "INDEX", "HDUCLAS2": "HDU",
                                      **(header or {})})
    return write_fits(path, [table])


def obs_index_values(obs_id=OBS_ID, **changes):
    """An obs-index row ({COLUMN: value}) agreeing with EVENTS_HEADER; `changes` replace or add columns
    (None removes one)."""
    values = {"OBS_ID": obs_id, "RA_PNT": EVENTS_HEADER["RA_PNT"], "DEC_PNT": EVENTS_HEADER["DEC_PNT"],
              "ZEN_PNT": 90.0 - EVENTS_HEADER["ALT_PNT"], "OBJECT": EVENTS_HEADER["OBJECT"],
              "OBS_MODE": EVENTS_HEADER["OBS_MODE"], "TSTART": EVENTS_HEADER["TSTART"],
              "TSTOP": EVENTS_HEADER["TSTOP"], "EVENT_COUNT": 200}
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def write_obs_index(path, rows, extname="OBS_INDEX", obs_id_format="K"):
    """An obs-index of rows ({COLUMN: value}, all with the same columns): numbers as D (OBS_ID as
    obs_id_format), text as A columns wide enough for the longest value (in UTF-8 bytes)."""
    columns = []
    for name in rows[0]:
        values = [row[name] for row in rows]
        if name == "OBS_ID" and obs_id_format.endswith("A"):
            values = [str(v) for v in values]
        if name == "OBS_ID" and not obs_id_format.endswith("A"):
            columns.append(fits.Column(name=name, format=obs_id_format, array=np.array(values)))
        elif isinstance(values[0], (str, bytes)):
            encoded = [v.encode("utf-8") if isinstance(v, str) else v for v in values]
            width = max(1, max(len(v) for v in encoded))
            columns.append(fits.Column(name=name, format=f"{width}A", array=np.array(encoded, dtype=f"S{width}")))
        else:
            columns.append(fits.Column(name=name, format="D", array=np.array(values, dtype=float)))
    table = _table(columns, extname, {"HDUCLASS": "GADF", "HDUCLAS1": "INDEX", "HDUCLAS2": "OBS",
                                      "MJDREFI": 51910, "MJDREFF": 0.000742870370370241, "TIMESYS": "TT"})
    return write_fits(path, [table])


# ---- a whole collection


@dataclass
class Layout:
    """What write_collection writes; every field can be changed before writing."""

    obs_ids: tuple = (OBS_ID,)
    events_header: dict = field(default_factory=dict)  # changes to EVENTS_HEADER (None deletes a key)
    gti_header: dict = field(default_factory=dict)
    irfs: tuple = ("aeff", "edisp", "psf", "bkg")
    point_like: bool = False
    obs_index: bool = True


def write_collection(directory, layout=None):
    """Writes a collection into `directory` (hdu-index.fits.gz, obs-index.fits.gz, data/obs_<id>.fits.gz)
    and returns the directory."""
    layout = layout or Layout()
    directory = str(directory)
    rows = []
    for obs_id in layout.obs_ids:
        write_fits(os.path.join(directory, "data", f"obs_{obs_id}.fits.gz"), observation_hdus(obs_id, layout))
        rows += observation_rows(obs_id, irfs=layout.irfs)
    write_hdu_index(os.path.join(directory, "hdu-index.fits.gz"), rows)
    if layout.obs_index:
        write_obs_index(os.path.join(directory, "obs-index.fits.gz"),
                        [obs_index_values(obs_id) for obs_id in layout.obs_ids])
    return directory


def observation_hdus(obs_id=OBS_ID, layout=None):
    layout = layout or Layout()
    hdus = [events_hdu(header={"OBS_ID": obs_id}), gti_hdu()]
    _apply(hdus[0].header, layout.events_header)
    _apply(hdus[1].header, layout.gti_header)
    makers = {"aeff": lambda: aeff_hdu(layout.point_like), "edisp": lambda: edisp_hdu(layout.point_like),
              "psf": psf_hdu, "bkg": bkg_hdu, "rad_max": lambda: rad_max_hdu([0.1] * 4)}
    return hdus + [makers[irf]() for irf in layout.irfs]


def _apply(header, changes):
    for key, value in changes.items():
        if value is None:
            header.remove(key, ignore_missing=True)
        else:
            header[key] = value


def edit_header(path, hdu_name, changes):
    """Changes keywords ({KEY: value}, None deletes) of one HDU of a file, in place."""
    with fits.open(str(path)) as hdulist:
        hdulist.readall()
        _apply(hdulist[hdu_name].header, changes)
        hdus = [hdu.copy() for hdu in hdulist]
    fits.HDUList(hdus).writeto(str(path), overwrite=True)
