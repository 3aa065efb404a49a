"""The GADF index tables: hdu-index.fits.gz (where each HDU of each observation is) and obs-index.fits.gz
(one summary row per observation), made column-wise from the schedule: 10^6 observations in seconds.

The hdu-index has six rows per observation: events and gti in its event file (FILE_DIR data/YYYY/MM),
aeff, edisp, psf and bkg in the shared IRF file of its site and zenith bin (FILE_DIR caldb). The indexes
are the same whether or not the event files are written (metadata-only mode): they only use the schedule.
"""

import os

import numpy as np

from .fitsbytes import Column, primary_hdu, table_hdu, write_file
from .irfs import HDUDOC, HDUS, HDUVERS, HI_THRES_TEV, IRF_DIR
from .schedule import MJDREFF, MJDREFI

HDU_INDEX = "hdu-index.fits.gz"
OBS_INDEX = "obs-index.fits.gz"
EVENT_HDUS = {"events": ("events", "EVENTS"), "gti": ("gti", "GTI")}  # hdu_type -> (HDU_CLASS, HDU_NAME)


def _text_column(name, values):
    return Column(name, f"{max(values.dtype.itemsize, 1)}A"), values


def _index_cards(extname, hdu_class2):
    return [("EXTNAME", extname, "name of this binary table extension"),
            ("HDUCLASS", "GADF", "FITS file following the GADF format"), ("HDUDOC", HDUDOC),
            ("HDUVERS", HDUVERS, "GADF version"), ("HDUCLAS1", "INDEX"), ("HDUCLAS2", hdu_class2)]


def _write(path, columns_and_values, cards):
    columns = [column for column, _ in columns_and_values]
    values = {column.name: value for column, value in columns_and_values}
    write_file(path, primary_hdu() + table_hdu(columns, values, cards), compress=True)
    return path


def write_hdu_index(out_dir, schedule, event_dirs, event_names):
    hdus = {**EVENT_HDUS, **HDUS}
    per_obs = len(hdus)
    irf_names = np.array([irf.file_name for irf in schedule.irfs], dtype="S")[schedule["irf"]]
    # (observations x HDUs) tables, raveled row by row: an observation's rows stay together.
    file_dir = np.empty((len(schedule), per_obs), dtype=event_dirs.dtype)
    file_dir[:, :2], file_dir[:, 2:] = event_dirs[:, None], IRF_DIR.encode()
    file_name = np.empty((len(schedule), per_obs), dtype=f"S{max(event_names.itemsize, irf_names.itemsize)}")
    file_name[:, :2], file_name[:, 2:] = event_names[:, None], irf_names[:, None]
    tile = len(schedule)
    columns = [
        (Column("OBS_ID", "K"), np.repeat(schedule["obs_id"], per_obs)),
        _text_column("HDU_TYPE", np.tile(np.array(list(hdus), dtype="S"), tile)),
        _text_column("HDU_CLASS", np.tile(np.array([c for c, _ in hdus.values()], dtype="S"), tile)),
        _text_column("FILE_DIR", file_dir.ravel()),
        _text_column("FILE_NAME", file_name.ravel()),
        _text_column("HDU_NAME", np.tile(np.array([n for _, n in hdus.values()], dtype="S"), tile)),
    ]
    return _write(os.path.join(out_dir, HDU_INDEX), columns, _index_cards("HDU_INDEX", "HDU"))


def write_obs_index(out_dir, schedule):
    s = schedule
    irf_config = np.array([irf.config for irf in s.irfs], dtype="S")[s["irf"]]
    lo_thres = np.array([irf.lo_thres for irf in s.irfs])[s["irf"]]

    def real(name, key, unit=None):
        return Column(name, "D", unit), s[key].astype(float)

    columns = [
        (Column("OBS_ID", "K"), s["obs_id"]),
        real("RA_PNT", "ra_pnt", "deg"), real("DEC_PNT", "dec_pnt", "deg"),
        real("GLON_PNT", "glon_pnt", "deg"), real("GLAT_PNT", "glat_pnt", "deg"),
        real("ZEN_PNT", "zen_pnt", "deg"), real("ALT_PNT", "alt_pnt", "deg"), real("AZ_PNT", "az_pnt", "deg"),
        _text_column("OBJECT", s["object"]),
        real("RA_OBJ", "ra_obj", "deg"), real("DEC_OBJ", "dec_obj", "deg"),
        real("ONTIME", "ontime", "s"), real("LIVETIME", "livetime", "s"), real("DEADC", "deadc"),
        real("TSTART", "tstart", "s"), real("TSTOP", "tstop", "s"),
        _text_column("DATE-OBS", s["date_obs"]), _text_column("TIME-OBS", s["time_obs"]),
        _text_column("DATE-END", s["date_end"]), _text_column("TIME-END", s["time_end"]),
        (Column("N_TELS", "J"), s["n_tels"]), _text_column("TELLIST", s["tellist"]),
        (Column("QUALITY", "J"), np.zeros(len(s), dtype=np.int32)),
        _text_column("OBS_MODE", s["obs_mode"]),
        (Column("EVENT_COUNT", "K"), s["event_count"]),
        (Column("SAFE_ENERGY_LO", "D", "TeV"), lo_thres),
        (Column("SAFE_ENERGY_HI", "D", "TeV"), np.full(len(s), HI_THRES_TEV)),
        _text_column("IRF", irf_config),
    ]
    return _write(os.path.join(out_dir, OBS_INDEX), columns, _obs_index_cards(s))


def _obs_index_cards(schedule):
    cards = _index_cards("OBS_INDEX", "OBS") + [
        ("TELESCOP", "CTAO", "observatory"),
        ("MJDREFI", MJDREFI, "[d] integer part of the reference MJD (J2000.0)"),
        ("MJDREFF", MJDREFF, "[d] fractional part of the reference MJD"),
        ("TIMEUNIT", "s", "time unit"), ("TIMESYS", "TT", "time system"), ("TIMEREF", "LOCAL", "time reference"),
    ]
    # GADF puts the array location in this header: possible only when every observation has the same.
    if len(schedule.sites) == 1:
        site = schedule.sites[0]
        cards += [("GEOLON", site.geo_lon, "[deg] longitude of the array centre"),
                  ("GEOLAT", site.geo_lat, "[deg] latitude of the array centre"),
                  ("ALTITUDE", site.altitude, "[m] altitude of the array centre")]
    return cards
