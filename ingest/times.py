"""GADF times (seconds since a reference MJD, in the scale TIMESYS) as astropy Times and UTC MJDs.

The textbook MJDREFI + MJDREFF + t/86400 is only right in TT-like scales: in a UTC file it is off by the
leap seconds between the reference and t. astropy's Time arithmetic counts them, so times are built as
Time(MJDREFI, MJDREFF, scale=TIMESYS) + t * TIMEUNIT and converted from there (spec §4.2).
"""

import warnings
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.time import Time
from astropy.utils.iers import IERSStaleWarning
from erfa import ErfaWarning

from .values import as_float, shown

# FITS TIMESYS values astropy knows as time scales (the FITS time paper's TIMESYS list, minus GPS/LOCAL).
TIME_SCALES = {"tt", "tai", "utc", "ut1", "tcg", "tcb", "tdb"}
# Observations lie between the start of UTC (1960-01-01) and 2100-01-01; beyond, a time is damaged (and
# ERFA refuses to convert it to UTC at all).
EARLIEST_MJD, LATEST_MJD = 36934.0, 88069.0


@dataclass(frozen=True)
class TimeReference:
    """The time reference of a GADF HDU: MJDREFI/MJDREFF, TIMESYS, TIMEUNIT and TIMEZERO."""

    mjdrefi: float
    mjdreff: float
    timesys: str  # as written in the file (TT, tt, UTC, ...)
    timeunit: str = "s"
    timezero: float = 0.0

    @property
    def scale(self):
        return self.timesys.lower()

    def reference_time(self):
        return Time(self.mjdrefi, self.mjdreff, format="mjd", scale=self.scale)

    def approximate_mjd(self, values):
        """MJD of values counted from the reference, in TIMESYS, without astropy (for range checks)."""
        seconds = (np.asarray(values, dtype=float) + self.timezero) * u.Unit(self.timeunit).to(u.s)
        return self.mjdrefi + self.mjdreff + seconds / 86400.0

    def times(self, values):
        """Times (astropy Time, in TIMESYS) of values counted from the reference in TIMEUNIT."""
        offsets = (np.asarray(values, dtype=float) + self.timezero) * u.Unit(self.timeunit)
        with quiet_leap_seconds():
            return self.reference_time() + offsets


def read_time_reference(hdu):
    """The time reference of a LocatedHdu; a file without MJDREF or TIMESYS cannot be dated: IngestError."""
    if "MJDREFI" in hdu.header or "MJDREF" not in hdu.header:
        # MJDREFI may be written as a float (51910.0): keep it as a number, whole or not. GADF requires
        # MJDREFF with it: H.E.S.S. puts 64 s of TT-UTC there, and 0 would be a guess.
        mjdrefi = _number(hdu, "MJDREFI")
        mjdreff = _number(hdu, "MJDREFF")
    else:
        mjdref = _number(hdu, "MJDREF")
        mjdrefi, mjdreff = float(np.floor(mjdref)), mjdref - float(np.floor(mjdref))
    timesys = str(hdu.mandatory("TIMESYS"))
    if timesys.lower() not in TIME_SCALES:
        raise hdu.error(f"time scale {shown(timesys)} is not one of {sorted(TIME_SCALES)}", "TIMESYS")
    timeunit = str(hdu.optional("TIMEUNIT", "s"))
    try:
        u.Unit(timeunit).to(u.s)
    except (ValueError, u.UnitsError):
        raise hdu.error(f"{timeunit!r} is not a time unit", "TIMEUNIT") from None
    timezero = as_float(hdu.optional("TIMEZERO", 0.0)) or 0.0
    return TimeReference(mjdrefi=mjdrefi, mjdreff=mjdreff, timesys=timesys, timeunit=timeunit,
                         timezero=timezero)


def check_intervals(hdu, starts, stops, reference, keys=("START", "STOP"), rows=True):
    """Rejects time intervals that are not numbers, end before they start or lie outside 1960-2100.

    starts, stops: arrays of values counted from the reference; keys: the columns (or keywords) they
    come from, named in the error; rows: whether they are table rows (numbered from 1 in the message).
    """
    def where(i):
        return f"row {i + 1}: " if rows else ""

    for values, key in ((starts, keys[0]), (stops, keys[1])):
        bad = np.nonzero(~np.isfinite(values))[0]
        if len(bad):
            raise hdu.error(f"{where(bad[0])}{values[bad[0]]} is not a finite time", key)
    backwards = np.nonzero(starts > stops)[0]
    if len(backwards):
        i = backwards[0]
        raise hdu.error(f"{where(i)}{keys[0]} {shown(starts[i])} is after {keys[1]} {shown(stops[i])}", keys[0])
    for values, key in ((starts, keys[0]), (stops, keys[1])):
        mjd = reference.approximate_mjd(values)
        outside = np.nonzero((mjd < EARLIEST_MJD) | (mjd >= LATEST_MJD))[0]
        if len(outside):
            i = outside[0]
            raise hdu.error(f"{where(i)}{shown(values[i])} {reference.timeunit} after MJDREF is MJD {mjd[i]:.1f}, "
                            f"outside 1960-2100", key)


def _number(hdu, key):
    value = as_float(hdu.mandatory(key))
    if value is None or not np.isfinite(value):
        raise hdu.error(f"{shown(hdu.optional(key))} is not a finite number", key)
    return value


def utc_mjd(time):
    """MJD in UTC of an astropy Time (scalar → float, array → list of floats)."""
    with quiet_leap_seconds():
        mjd = time.utc.mjd
    return mjd.tolist() if np.ndim(mjd) else float(mjd)


class quiet_leap_seconds(warnings.catch_warnings):
    """Silences astropy's "leap-second file is expired" and ERFA's "dubious year" warnings.

    The leap-second table astropy ships has an expiry date; times before the last leap second it knows
    are exact, and a service without network access cannot do better for later ones.
    """

    def __enter__(self):
        result = super().__enter__()
        warnings.simplefilter("ignore", IERSStaleWarning)
        warnings.filterwarnings("ignore", message=".*dubious year.*", category=ErfaWarning)
        return result
