"""The observation schedule: site, target, pointing, times, GTIs, sub-array and event count of every
observation, drawn at once with numpy (10^6 observations in a few seconds).

How an observation is made, so that it is one a CTAO site could have taken:
1. a site (uniformly among those asked for), and a target of the catalogue that culminates within 45°
   of that site's zenith (popular targets more often);
2. the pointing: a wobble offset of 0.5° or 0.7° from the target in one of four directions (80%), or
   the target itself (OBS_MODE POINTING);
3. an hour angle at which the pointing is at most 60° from the zenith;
4. a time: a random night within MJD 61000-72000 (2025-11 .. 2055-11, ~30 years), a random moment
   within 4 h of local midnight, moved by whole days (the sky turns 0.986° a day at a given solar
   time) and then minutes until the local sidereal time puts the pointing at its hour angle;
5. a duration of 20-30 min cut into 1-3 GTIs by short gaps, a dead-time fraction, a sub-array.

Times are TT seconds since J2000.0 (MJDREFI 51544, MJDREFF 0.5, like CTA 1DC), whole seconds.
Observations are numbered 1..N in order of start time. Two observations of one site may overlap in time
(at 10^6 observations over 30 years there are more than the nights hold): think of them as sub-arrays.
"""

from dataclasses import dataclass

import numpy as np

from . import irfs, sky
from .sites import tellist

SCHEDULE_STREAM, CATALOGUE_STREAM = 1, 2  # separate random streams (events.EVENTS_STREAM is 3)
MJDREFI, MJDREFF = 51544, 0.5
J2000_MJD = MJDREFI + MJDREFF
J2000 = np.datetime64("2000-01-01T12:00:00", "s")  # MJD 51544.5 as a calendar time (TT)
MJD_FIRST, MJD_LAST = 61000, 72000
# TT - UT1 from 2017 on (TAI - UTC = 37 s, + 32.184 s; UT1 - UTC < 1 s): no later leap second is known.
TT_MINUS_UT1_S = 69.184
DAILY_SIDEREAL_GAIN_DEG = sky.SIDEREAL_DEG_PER_DAY - 360.0
CATALOGUE_SIZE = 1000
CULMINATION_MAX_ZENITH = 45.0
MAX_ZENITH = 60.0
DRIFT_MARGIN_DEG = 4.0  # the sky turns 3.75° in 15 min: keep the whole run above MAX_ZENITH's altitude
NIGHT_HALF_HOURS = 4.0
WOBBLE_FRACTION, WOBBLE_OFFSETS = 0.8, (0.5, 0.7)
DURATION_S = (1200, 1800)
GTI_COUNT_WEIGHTS = (0.7, 0.2, 0.1)  # 1, 2 or 3 GTIs
GAP_S = (10, 120)
DEADC = (0.88, 0.98)
EVENT_COUNT = (50, 500)


@dataclass(frozen=True)
class Schedule:
    """The observations, one array element each, in obs_id order.

    columns: obs_id, site (index into `sites`), irf (index into `irfs`), object, ra_obj, dec_obj,
    ra_pnt, dec_pnt, glon_pnt, glat_pnt, alt_pnt, az_pnt, zen_pnt, obs_mode, tstart, tstop, telapse,
    gti_count, gti_start, gti_stop (N x 3, the first gti_count used), ontime, livetime, deadc, n_tels,
    tellist, event_count, date_obs, time_obs, date_end, time_end.
    """

    seed: int
    sites: tuple  # sites.Site
    irfs: tuple  # irfs.IrfSet
    columns: dict

    def __len__(self):
        return len(self.columns["obs_id"])

    def __getitem__(self, name):
        return self.columns[name]

    def row(self, i):
        """Observation i as plain Python values (GTIs trimmed to the ones used)."""
        row = {name: values[i].tolist() for name, values in self.columns.items()}
        count = row["gti_count"]
        row["gti_start"], row["gti_stop"] = row["gti_start"][:count], row["gti_stop"][:count]
        for name, value in row.items():
            if isinstance(value, bytes):
                row[name] = value.decode("ascii")
        row["site"], row["irf"] = self.sites[row["site"]], self.irfs[row["irf"]]
        return row


def draw_schedule(n, seed, sites):
    """The Schedule of n observations from `sites` (sites.Site), the same for the same arguments."""
    rng = np.random.default_rng([SCHEDULE_STREAM, seed])
    catalogue = sky.make_catalogue(np.random.default_rng([CATALOGUE_STREAM, seed]), CATALOGUE_SIZE)
    site = rng.integers(len(sites), size=n)
    geo_lon = np.array([s.geo_lon for s in sites])[site]
    geo_lat = np.array([s.geo_lat for s in sites])[site]
    target = _targets(rng, catalogue, sites, site)
    columns = {"site": site, "target": target, "ra_obj": catalogue.ra[target], "dec_obj": catalogue.dec[target]}
    columns.update(_pointings(rng, columns["ra_obj"], columns["dec_obj"]))
    columns.update(_times(rng, columns["ra_pnt"], columns["dec_pnt"], geo_lon, geo_lat))
    columns.update(_gtis(rng, columns["tstart"], columns["telapse"]))
    subarrays = _subarray_table(sites)
    columns["subarray"] = _subarrays(rng, subarrays, site)
    columns["event_count"] = rng.integers(EVENT_COUNT[0], EVENT_COUNT[1] + 1, size=n)
    columns["irf"] = site * len(irfs.ZENITHS) + irfs.zenith_bin(columns["zen_pnt"])
    # Number by start time; the wide text columns are looked up after sorting (cheaper than sorting them).
    order = np.argsort(columns["tstart"], kind="stable")
    columns = {name: values[order] for name, values in columns.items()}
    columns["obs_id"] = np.arange(1, n + 1, dtype=np.int64)
    columns["object"] = catalogue.name[columns.pop("target")]
    subarray = columns.pop("subarray")
    columns["n_tels"] = np.array([len(ids) for _, ids, _ in subarrays], dtype=np.int32)[subarray]
    columns["tellist"] = np.array([tellist(ids) for _, ids, _ in subarrays], dtype="S")[subarray]
    columns.update(_calendar_columns(columns["tstart"], columns["tstop"]))
    return Schedule(seed=seed, sites=tuple(sites), irfs=irfs.irf_sets(sites), columns=columns)


def _targets(rng, catalogue, sites, site):
    """A target (catalogue index) per observation among those culminating high at its site, popular
    ones more often."""
    target = np.empty(len(site), dtype=np.int64)
    for k, s in enumerate(sites):
        chosen = site == k
        visible = np.nonzero(np.abs(catalogue.dec - s.geo_lat) <= CULMINATION_MAX_ZENITH)[0]
        weight = catalogue.weight[visible]
        target[chosen] = rng.choice(visible, size=int(chosen.sum()), p=weight / weight.sum())
    return target


def _pointings(rng, ra_obj, dec_obj):
    n = len(ra_obj)
    wobble = rng.random(n) < WOBBLE_FRACTION
    offset = np.where(wobble, rng.choice(WOBBLE_OFFSETS, size=n), 0.0)
    ra, dec = sky.offset_position(ra_obj, dec_obj, offset, rng.integers(4, size=n) * 90.0)
    ra, dec = np.round(ra, 6) % 360.0, np.round(dec, 6)
    glon, glat = sky.icrs_to_galactic(ra, dec)
    return {"ra_pnt": ra, "dec_pnt": dec, "glon_pnt": np.round(glon, 6), "glat_pnt": np.round(glat, 6),
            "obs_mode": np.where(wobble, b"WOBBLE", b"POINTING").astype("S8")}


def _times(rng, ra, dec, geo_lon, geo_lat):
    """Start/stop (TT s since J2000) and the mean alt/az of runs that see the pointing at night."""
    n = len(ra)
    limit = np.clip(sky.max_hour_angle(dec, geo_lat, MAX_ZENITH) - DRIFT_MARGIN_DEG, 0.0, 60.0)
    hour_angle = rng.uniform(-1.0, 1.0, n) * limit
    # The day is moved by up to half a year either way below: start half a year inside the range.
    day = rng.integers(MJD_FIRST + 183, MJD_LAST - 184, size=n)
    night = rng.uniform(-NIGHT_HALF_HOURS, NIGHT_HALF_HOURS, n) / 24.0
    ut1 = (day - J2000_MJD) - geo_lon / 360.0 + night  # UT1 days since J2000.0, near local midnight
    ra_date, _ = sky.precessed(ra, dec, ut1 / sky.DAYS_PER_YEAR)
    shortfall = (ra_date + hour_angle - sky.local_sidereal_deg(ut1, geo_lon) + 180.0) % 360.0 - 180.0
    days = np.round(shortfall / DAILY_SIDEREAL_GAIN_DEG)
    ut1 = ut1 + days + (shortfall - days * DAILY_SIDEREAL_GAIN_DEG) / sky.SIDEREAL_DEG_PER_DAY
    duration = rng.integers(DURATION_S[0], DURATION_S[1] + 1, size=n)
    tstart = np.round(ut1 * 86400.0 + TT_MINUS_UT1_S - duration / 2.0).astype(np.int64)
    alt, az = _mean_altaz(tstart + duration / 2.0, ra, dec, geo_lon, geo_lat)
    return {"tstart": tstart, "tstop": tstart + duration, "telapse": duration,
            "alt_pnt": np.round(alt, 4), "az_pnt": np.round(az, 4), "zen_pnt": np.round(90.0 - alt, 4)}


def _mean_altaz(mid_tt_seconds, ra, dec, geo_lon, geo_lat):
    ut1 = (mid_tt_seconds - TT_MINUS_UT1_S) / 86400.0
    ra_date, dec_date = sky.precessed(ra, dec, ut1 / sky.DAYS_PER_YEAR)
    return sky.altaz(sky.local_sidereal_deg(ut1, geo_lon) - ra_date, dec_date, geo_lat)


def _gtis(rng, tstart, duration):
    """1-3 GTIs per run: gaps of 10-120 s placed so that they can neither overlap nor reach an end."""
    n = len(tstart)
    count = rng.choice(np.arange(1, 4), size=n, p=GTI_COUNT_WEIGHTS)
    first_of_two = rng.uniform(0.15, 0.40, n)
    only_one = rng.uniform(0.20, 0.80, n)
    second = rng.uniform(0.55, 0.85, n)
    fractions = np.stack([np.where(count == 2, only_one, first_of_two), second], axis=1)
    gap_start = tstart[:, None] + np.round(fractions * duration[:, None]).astype(np.int64)
    gap_end = gap_start + rng.integers(GAP_S[0], GAP_S[1] + 1, size=(n, 2))
    used = np.arange(2)[None, :] < (count - 1)[:, None]
    starts, stops = np.zeros((n, 3), dtype=np.int64), np.zeros((n, 3), dtype=np.int64)
    starts[:, 0] = tstart
    starts[:, 1:][used] = gap_end[used]
    stops[:, :2][used] = gap_start[used]
    stops[np.arange(n), count - 1] = tstart + duration
    ontime = (stops - starts).sum(axis=1)
    deadc = np.round(rng.uniform(DEADC[0], DEADC[1], n), 6)
    return {"gti_count": count, "gti_start": starts, "gti_stop": stops, "ontime": ontime,
            "deadc": deadc, "livetime": np.round(ontime * deadc, 3)}


def _subarray_table(sites):
    """Every sub-array of the sites: (site index, telescope IDs, weight)."""
    return [(k, ids, weight) for k, s in enumerate(sites) for _, ids, weight in s.subarrays]


def _subarrays(rng, table, site):
    """An index into the sub-array table per observation: a sub-array of its site, by weight."""
    chosen = np.empty(len(site), dtype=np.int64)
    for k in sorted({owner for owner, _, _ in table}):
        rows = np.array([i for i, (owner, _, _) in enumerate(table) if owner == k])
        weights = np.array([table[i][2] for i in rows])
        mask = site == k
        chosen[mask] = rng.choice(rows, size=int(mask.sum()), p=weights / weights.sum())
    return chosen


def _calendar_columns(tstart, tstop):
    """DATE-OBS/TIME-OBS and DATE-END/TIME-END, in TT (the files' TIMESYS, as FITS wants them)."""
    date_obs, time_obs = _calendar(tstart)
    date_end, time_end = _calendar(tstop)
    return {"date_obs": date_obs, "time_obs": time_obs, "date_end": date_end, "time_end": time_end}


def calendar_text(tt_seconds):
    """'YYYY-MM-DDThh:mm:ss' of TT seconds since J2000.0 (one value)."""
    return str(np.datetime_as_string(J2000 + np.timedelta64(int(tt_seconds), "s"), unit="s"))


def _calendar(tt_seconds):
    """(b'YYYY-MM-DD', b'hh:mm:ss') arrays of TT seconds since J2000.0 (whole seconds)."""
    text = np.datetime_as_string(J2000 + tt_seconds.astype("timedelta64[s]"), unit="s").astype("S19")
    chars = text.view("S1").reshape(-1, 19)
    return chars[:, :10].copy().view("S10").ravel(), chars[:, 11:].copy().view("S8").ravel()
