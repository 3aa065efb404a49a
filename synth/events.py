"""One observation's event file: an empty primary HDU, EVENTS and GTI, with the GADF headers.

Each observation draws its events from its own random stream, seeded by (seed, OBS_ID): its file does not
depend on which other observations are made or in which order they are written.

Event files are plain FITS, not gzipped: writing and reading them is then about the service's work and
not zlib's (the ingest benchmark measures the former), byte-identical reruns do not depend on gzip
header details, and CTA 1DC, the CTAO example, is plain FITS too. (The indexes are gzipped, as gammapy's
DataStore expects by default.) A file of 50-500 events is 17-31 kB.
"""

import os

import numpy as np

from . import sky
from .fitsbytes import Column, primary_hdu, table_hdu, write_file
from .irfs import HDUDOC, HDUVERS
from .schedule import MJDREFF, MJDREFI, calendar_text

EVENTS_STREAM = 3
DATA_DIR = "data"
CREATOR = "HE-ObsCore synth (1)"  # 'name (version)': the ingest reads the version from the brackets
GAMMA_FRACTION = (0.0, 0.3)  # share of the events coming from the target, per observation
SPECTRAL_INDEX = {"gamma": 2.5, "background": 2.7}
MAX_ENERGY_TEV = 300.0

EVENT_COLUMNS = (Column("EVENT_ID", "K"), Column("TIME", "D", "s"), Column("RA", "E", "deg"),
                 Column("DEC", "E", "deg"), Column("ENERGY", "E", "TeV"))
GTI_COLUMNS = (Column("START", "D", "s"), Column("STOP", "D", "s"))
PRIMARY_CARDS = [
    ("COMMENT", "Synthetic CTAO-like DL3 data made by the HE-ObsCore project's generator"),
    ("COMMENT", "(python3 -m synth). Not real observations."),
]


def event_locations(schedule):
    """(FILE_DIR, FILE_NAME) byte arrays of every observation's event file: data/YYYY/MM/obs_NNNNNNN.fits,
    one directory per month of observation start, so that no directory holds more than a few thousand."""
    year_month = schedule["date_obs"].astype("S7")  # b'YYYY-MM'
    file_dir = np.char.add(b"data/", np.char.replace(year_month, b"-", b"/"))
    number = np.char.zfill(schedule["obs_id"].astype("S"), max(7, len(str(len(schedule)))))
    return file_dir, np.char.add(np.char.add(b"obs_", number), b".fits")


def write_event_file(out_dir, schedule, i, file_dir, file_name):
    """Writes observation i; returns its number of events."""
    obs = schedule.row(i)
    rng = np.random.default_rng([EVENTS_STREAM, schedule.seed, obs["obs_id"]])
    events = draw_events(rng, obs)
    gti = {"START": np.array(obs["gti_start"], dtype=float), "STOP": np.array(obs["gti_stop"], dtype=float)}
    chunks = (primary_hdu(PRIMARY_CARDS) + table_hdu(EVENT_COLUMNS, events, events_cards(obs))
              + table_hdu(GTI_COLUMNS, gti, gti_cards(obs)))
    write_file(os.path.join(out_dir, file_dir, file_name), chunks)
    return len(events["TIME"])


# ---- the events


def draw_events(rng, obs):
    """EVENT_ID, TIME, RA, DEC, ENERGY of one observation: gammas around the target, background over the
    field of view, times uniform within the GTIs, in time order."""
    n = obs["event_count"]
    gammas = int(round(n * rng.uniform(*GAMMA_FRACTION)))
    ra, dec = np.empty(n), np.empty(n)
    ra[:gammas], dec[:gammas] = _around(rng, obs["ra_obj"], obs["dec_obj"], gammas, sigma=0.08, limit=0.5)
    fov = obs["site"].fov_radius
    ra[gammas:], dec[gammas:] = _around(rng, obs["ra_pnt"], obs["dec_pnt"], n - gammas, sigma=0.45 * fov,
                                        limit=fov)
    threshold = obs["irf"].lo_thres
    energy = np.concatenate([_power_law(rng, gammas, 0.8 * threshold, SPECTRAL_INDEX["gamma"]),
                             _power_law(rng, n - gammas, 0.8 * threshold, SPECTRAL_INDEX["background"])])
    order = rng.permutation(n)  # mix gammas and background before they get their times
    times = np.sort(_times_in_gtis(rng, obs["gti_start"], obs["gti_stop"], n))
    return {"EVENT_ID": np.arange(1, n + 1), "TIME": times, "RA": ra[order], "DEC": dec[order],
            "ENERGY": energy[order]}


def _around(rng, ra, dec, n, sigma, limit):
    """Positions around (ra, dec): radial offsets of a 2D Gaussian of width sigma, cut at `limit` deg."""
    cut = 1.0 - np.exp(-0.5 * (limit / sigma) ** 2)
    offset = sigma * np.sqrt(-2.0 * np.log(1.0 - rng.uniform(0.0, cut, n)))
    return sky.offset_position(np.full(n, ra), np.full(n, dec), offset, rng.uniform(0.0, 360.0, n))


def _power_law(rng, n, e_min, index):
    """Energies (TeV) of a power law dN/dE ~ E^-index between e_min and MAX_ENERGY_TEV (inverse CDF)."""
    a, b = e_min ** (1.0 - index), MAX_ENERGY_TEV ** (1.0 - index)
    return (a + rng.uniform(0.0, 1.0, n) * (b - a)) ** (1.0 / (1.0 - index))


def _times_in_gtis(rng, starts, stops, n):
    starts, stops = np.array(starts, dtype=float), np.array(stops, dtype=float)
    lengths = stops - starts
    which = rng.choice(len(starts), size=n, p=lengths / lengths.sum())
    return starts[which] + rng.uniform(0.0, 1.0, n) * lengths[which]


# ---- the headers (GADF events and GTI; HE-OBSCORE-SPEC §1-§3 reads them)


def _time_cards(obs):
    return [
        ("TSTART", float(obs["tstart"]), "[s] start of the observation, TT s since MJDREF"),
        ("TSTOP", float(obs["tstop"]), "[s] end of the observation"),
        ("MJDREFI", MJDREFI, "[d] integer part of the reference MJD (J2000.0)"),
        ("MJDREFF", MJDREFF, "[d] fractional part of the reference MJD"),
        ("TIMEUNIT", "s", "time unit"), ("TIMESYS", "TT", "time system"),
        ("TIMEREF", "LOCAL", "time reference"),
    ]


def _gadf_cards(hdu_class1):
    return [("HDUCLASS", "GADF", "FITS file following the GADF format"), ("HDUDOC", HDUDOC),
            ("HDUVERS", HDUVERS, "GADF version"), ("HDUCLAS1", hdu_class1)]


def events_cards(obs):
    site = obs["site"]
    return ([("EXTNAME", "EVENTS", "name of this binary table extension")] + _gadf_cards("EVENTS") + [
        ("OBS_ID", obs["obs_id"], "observation identifier"),
        ("TELESCOP", "CTAO", "observatory"), ("INSTRUME", site.instrument, "array"),
        ("ORIGIN", "HE-ObsCore synth", "synthetic data"), ("CREATOR", CREATOR, "program that made the file"),
        ("DATE", calendar_text(obs["tstop"] + 86400), "file creation: the day after the run"),
    ] + _time_cards(obs) + [
        ("TELAPSE", float(obs["telapse"]), "[s] TSTOP - TSTART"),
        ("ONTIME", float(obs["ontime"]), "[s] total good time (sum of GTIs)"),
        ("LIVETIME", obs["livetime"], "[s] ONTIME x DEADC"),
        ("DEADC", obs["deadc"], "dead-time correction factor"),
        ("DATE-OBS", obs["date_obs"], "start date (TT)"), ("TIME-OBS", obs["time_obs"], "start time (TT)"),
        ("DATE-END", obs["date_end"], "end date (TT)"), ("TIME-END", obs["time_end"], "end time (TT)"),
        ("OBJECT", obs["object"], "observed object"),
        ("RA_OBJ", obs["ra_obj"], "[deg] target right ascension"),
        ("DEC_OBJ", obs["dec_obj"], "[deg] target declination"),
        ("RA_PNT", obs["ra_pnt"], "[deg] pointing right ascension"),
        ("DEC_PNT", obs["dec_pnt"], "[deg] pointing declination"),
        ("ALT_PNT", obs["alt_pnt"], "[deg] mean altitude of the pointing"),
        ("AZ_PNT", obs["az_pnt"], "[deg] mean azimuth (north through east)"),
        ("RADESYS", "ICRS", "equatorial coordinate frame"), ("EQUINOX", 2000.0, "coordinate epoch"),
        ("OBS_MODE", obs["obs_mode"], "observation mode"),
        ("N_TELS", obs["n_tels"], "number of telescopes in the sub-array"),
        ("TELLIST", obs["tellist"], "telescope IDs"),
        ("GEOLON", site.geo_lon, "[deg] longitude of the array centre"),
        ("GEOLAT", site.geo_lat, "[deg] latitude of the array centre"),
        ("ALTITUDE", site.altitude, "[m] altitude of the array centre"),
        ("EUNIT", "TeV", "energy unit"),
    ])


def gti_cards(obs):
    return ([("EXTNAME", "GTI", "name of this binary table extension")] + _gadf_cards("GTI")
            + [("OBS_ID", obs["obs_id"], "observation identifier")] + _time_cards(obs))
