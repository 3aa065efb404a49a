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

from .values import as_float

# FITS TIMESYS values astropy knows as time scales (the FITS time paper's TIMESYS list, minus GPS/LOCAL).
TIME_SCALES = {"tt", "tai", "utc", "ut1", "tcg", "tcb", "tdb"}


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

    def times(self, values):
        """Times (astropy Time, in TIMESYS) of values counted from the reference in TIMEUNIT."""
        offsets = (np.asarray(values, dtype=float) + self.timezero) * u.Unit(self.timeunit)
        with quiet_leap_seconds():
            return self.reference_time() + offsets


def read_time_reference(hdu):
    """The time reference of a LocatedHdu; a file without MJDREF or TIMESYS cannot be dated: IngestError."""
    if "MJDREFI" in hdu.header or "MJDREF" not in hdu.header:
        # MJDREFI may be written as a float (51910.0): keep it as a number, whole or not.
        mjdrefi = _number(hdu, "MJDREFI")
        mjdreff = as_float(hdu.optional("MJDREFF", 0.0))
        if mjdreff is None:
            raise hdu.error("not a number", "MJDREFF")
    else:
        mjdref = _number(hdu, "MJDREF")
        mjdrefi, mjdreff = float(np.floor(mjdref)), mjdref - float(np.floor(mjdref))
    timesys = str(hdu.mandatory("TIMESYS"))
    if timesys.lower() not in TIME_SCALES:
        raise hdu.error(f"time scale {timesys!r} is not one of {sorted(TIME_SCALES)}", "TIMESYS")
    timeunit = str(hdu.optional("TIMEUNIT", "s"))
    try:
        u.Unit(timeunit).to(u.s)
    except (ValueError, u.UnitsError):
        raise hdu.error(f"{timeunit!r} is not a time unit", "TIMEUNIT") from None
    timezero = as_float(hdu.optional("TIMEZERO", 0.0)) or 0.0
    return TimeReference(mjdrefi=mjdrefi, mjdreff=mjdreff, timesys=timesys, timeunit=timeunit,
                         timezero=timezero)


def _number(hdu, key):
    value = as_float(hdu.mandatory(key))
    if value is None:
        raise hdu.error("not a number", key)
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
