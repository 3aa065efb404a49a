"""Times as people give them, converted exactly to the MJD (UTC) of the tables.

ivoa.obscore's t_min/t_max and ivoa.obscore_gti's t_start/t_stop are MJDs in UTC. People give
times in the systems their alerts come in: an ISO date-time or an MJD in UTC, TT or TAI, or a
mission elapsed time (MET): seconds since a collection's reference epoch (its MJDREF, in its
TIMESYS). astropy.time converts them, leap seconds included (TT - UTC is 32.184 s plus the leap
seconds, TAI - UTC the leap seconds): never MJDREF + seconds / 86400, which is off by every leap
second in between.

An ISO date without a time is the start of that day, or its end (the next day's 00:00, even
across a leap second) where it ends a range.
"""

import datetime
import math
import re
import warnings
from dataclasses import dataclass

from astropy.time import Time
from erfa import ErfaWarning

from ingest.times import EARLIEST_MJD, LATEST_MJD, TimeReference, quiet_leap_seconds, utc_mjd

SCALES = ("UTC", "TT", "TAI")
MET = "MET"
SYSTEMS = SCALES + (MET,)
DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_EXAMPLE = "2004-12-04T22:00:00 or 2004-12-04"


class TimeInputError(ValueError):
    """A time that cannot be converted; part says which input is wrong: "start", "stop",
    "system" or "reference" (the collection whose MJDREF a MET counts from)."""

    def __init__(self, part, message):
        super().__init__(message)
        self.part, self.message = part, message


@dataclass(frozen=True)
class ConvertedTime:
    text: str  # as given
    system: str  # one of SYSTEMS
    mjd: float  # MJD, UTC
    reference: TimeReference = None  # for a MET
    day_end: bool = False  # a date alone, read as the end of that day

    @property
    def utc_iso(self):
        with quiet_leap_seconds():
            return Time(self.mjd, format="mjd", scale="utc").iso

    def describe(self):
        """How the text was read, e.g. 'read as TT: 2004-12-04 21:58:55.816 UTC, MJD 53343.91592380
        (UTC)' (MJD to 1e-8 d, under a millisecond)."""
        if self.system == MET:
            read_as = f"MET, seconds since MJDREF {reference_text(self.reference)}"
        elif _is_number(self.text):
            read_as = f"MJD ({self.system})"
        else:
            read_as = self.system + (", the end of that day" if self.day_end else "")
        return f"read as {read_as}: {self.utc_iso} UTC, MJD {self.mjd:.8f} (UTC)"


def reference_text(reference):
    """'51910.000742870 (TT)' for a TimeReference."""
    return f"{reference.mjdrefi + reference.mjdreff:.9f} ({reference.timesys})"


def convert(text, system="UTC", reference=None, end_of_range=False, part="start"):
    """A time as given (text) in `system` (SYSTEMS) as a ConvertedTime; None if text is empty.

    UTC, TT, TAI: an ISO date-time (a trailing Z means UTC) or an MJD in that scale; MET: seconds
    since `reference` (an ingest.times.TimeReference). A date without a time ends a range
    (end_of_range) at the end of that day. TimeInputError names what is wrong."""
    text = (text or "").strip()
    if not text:
        return None
    if system not in SYSTEMS:
        raise TimeInputError("system", f"{system!r} is not one of {', '.join(SYSTEMS)}")
    day_end = False
    if system == MET:
        time = _met(text, reference, part)
    elif _is_number(text):
        mjd = _finite(part, text)
        time = _checked(part, text, lambda: Time(mjd, format="mjd", scale=system.lower()))
    else:
        time, day_end = _iso(text, system, end_of_range, part)
    mjd = utc_mjd(time)
    if not EARLIEST_MJD <= mjd < LATEST_MJD:
        hint = "; for seconds since a collection's MJDREF choose MET" \
            if system != MET and mjd >= LATEST_MJD else ""
        raise TimeInputError(part, f"{text} is MJD {mjd:.1f} (UTC), outside 1960-2100{hint}")
    return ConvertedTime(text=text, system=system, mjd=mjd, reference=reference, day_end=day_end)


def time_range(start, stop, system="UTC", reference=None):
    """(start, stop) as ConvertedTime (or None where not given); the stop must not be earlier."""
    first = convert(start, system, reference, part="start")
    last = convert(stop, system, reference, end_of_range=True, part="stop")
    # A stop given as a date ends as the next day starts: a start at that instant comes after
    # the whole stop day (2004-12-05 to 2004-12-04 is reversed, not empty).
    if first and last and (last.mjd < first.mjd or last.day_end and last.mjd <= first.mjd):
        raise TimeInputError("stop", f"the range ends ({last.text}) before it starts"
                                     f" ({first.text})")
    return first, last


def _met(text, reference, part):
    if reference is None:
        raise TimeInputError("reference", "a mission elapsed time counts from the MJDREF of a"
                                          " collection: choose the collection")
    if not _is_number(text):
        raise TimeInputError(part, f"{text!r} is not a number: a mission elapsed time is"
                                   " seconds since the collection's MJDREF")
    seconds = _finite(part, text)
    return _checked(part, text, lambda: reference.times(seconds))


def _iso(text, system, end_of_range, part):
    """(astropy Time, whether it is the end of a day given as a date alone) of an ISO text."""
    iso = text.replace(" ", "T", 1)
    if iso.endswith("Z"):
        if system != "UTC":
            raise TimeInputError(part, f"{text} ends in Z, which means UTC, but the scale"
                                       f" chosen is {system}")
        iso = iso[:-1]
    if ":60" in iso and system != "UTC":
        raise TimeInputError(part, f"{text}: second 60 exists only in UTC, in a leap second")
    day_end = end_of_range and bool(DATE_ONLY.fullmatch(iso))
    if day_end:
        # The next day's 00:00 by the calendar: a UTC day with a leap second has 86401 s.
        try:
            iso = (datetime.date.fromisoformat(iso) + datetime.timedelta(days=1)).isoformat()
        except (ValueError, OverflowError):
            raise TimeInputError(part, _not_a_time(text)) from None
    return _checked(part, text, lambda: Time(iso, format="isot", scale=system.lower())), day_end


def _checked(part, text, make):
    """make() (an astropy Time), with astropy's and ERFA's complaints as a TimeInputError."""
    with quiet_leap_seconds():
        # Not quieted: ERFA's "time is after end of day" (23:59:60 on a day without a leap second).
        warnings.filterwarnings("error", message=".*after end of day.*", category=ErfaWarning)
        try:
            return make()
        except ErfaWarning:
            raise TimeInputError(part, f"{text}: that day has no leap second, so no second"
                                       " 60") from None
        except (ValueError, TypeError, OverflowError):
            raise TimeInputError(part, _not_a_time(text)) from None


def _not_a_time(text):
    return f"{text!r} is not a time: give an ISO date-time ({ISO_EXAMPLE}) or an MJD"


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _finite(part, text):
    value = float(text)
    if not math.isfinite(value):
        raise TimeInputError(part, f"{text} is not a finite number")
    return value
