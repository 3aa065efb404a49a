"""Target names resolved to positions: from the published observations' own targets, else by
Sesame (CDS's name resolver) when the network allows.

The published targets: every observation is known by its OBJECT (the `object` column of its
collection table) and its `target_name` (the same, but where the files give no OBJECT and the
collection's configuration names the target, as for HAWC's Crab events). A name's position is
where its observations say the object is (RA_OBJ/DEC_OBJ, FK5 J2000, which differs from ICRS by
less than 0.03"); where none of them says, the mean of the observations' centres (s_ra, s_dec:
the pointing, or a drift scan's mean event direction). Observations of one name whose positions
scatter by more than SPREAD_LIMIT_DEG (a survey, say) give no position: the name is not one target.

Names are compared folded (fold()): Unicode NFKC, case ignored, only letters and digits kept,
and a + or - before a digit (the sign of a coordinate), and a trailing word "Nebula" dropped.
"Crab", "Crab Nebula", "crab nebula" and "CRAB" are one target, as are "RXJ 1713.7-3946" and
"RX J1713.7-3946"; "PSR J0437-4715" and "PSR J0437+4715" are not. No other alias is invented.

Sesame is asked only for names no published observation has, through astropy (which parses
Sesame's answer), and never for longer than its timeout: offline, the answer comes at once or
after the timeout, and says so.
"""

import collections
import concurrent.futures
import functools
import math
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass

import numpy as np

# Observations of one name whose positions scatter more than this (degrees) about their mean are
# not of one target: wobble pointings lie 0.5-0.7 deg from it, HAWC's event subsets 0.3 deg.
SPREAD_LIMIT_DEG = 1.0
PUBLISHED, SESAME = "the published observations", "Sesame (CDS)"
NAME_PARTS = re.compile(r"[^\W_]+|[+-](?=\d)")
ERRNO = re.compile(r"^\[Errno -?\d+\] ")


def fold(name):
    """The form of a target name in which spellings of one name are equal (module docstring)."""
    text = unicodedata.normalize("NFKC", name or "").replace("\u2212", "-").casefold()
    words = NAME_PARTS.findall(text)
    if len(words) > 1 and words[-1] == "nebula":
        words.pop()
    return "".join(words)


class NotResolved(ValueError):
    """The name gives no position; the message says why (and which resolvers were asked)."""


@dataclass(frozen=True)
class Resolution:
    name: str  # as given
    ra: float  # deg, ICRS
    dec: float
    resolver: str  # PUBLISHED or SESAME
    target: str = None  # the published name it matched
    observations: int = 0  # how many published datasets (ivoa.obscore rows) have it

    def describe(self):
        """What the page says: which resolver answered, and the position."""
        where = f"RA {self.ra:.4f}°, Dec {self.dec:.4f}° (ICRS)"
        if self.resolver == PUBLISHED:
            return (f"“{self.name}” resolved from {PUBLISHED}: {self.target}"
                    f" ({self.observations} dataset{'s' * (self.observations != 1)}), {where}")
        return f"“{self.name}” resolved by {SESAME}: {where}"


# ---------------------------------------------------------------- the published targets
@dataclass(frozen=True)
class TargetRow:
    """One group of published observations (one row of dachs_ext/search_form.py's query): the
    same object, target_name and RA_OBJ/DEC_OBJ; count, the mean unit vector of their centres
    (s_ra, s_dec) and their largest field of view (s_fov, deg)."""

    object: str
    target_name: str
    ra_obj: float
    dec_obj: float
    count: int
    centre_x: float
    centre_y: float
    centre_z: float
    max_fov: float


class _Names:
    """What the rows say about one folded name."""

    def __init__(self):
        self.spellings = collections.Counter()
        self.objects = np.zeros(3)  # sum of the object positions' unit vectors, one per observation
        self.object_count = 0
        self.centres = np.zeros(3)
        self.count = 0

    def add(self, spelling, row):
        self.spellings[spelling] += row.count
        self.count += row.count
        if row.ra_obj is not None and row.dec_obj is not None:
            self.objects += row.count * unit_vector(row.ra_obj, row.dec_obj)
            self.object_count += row.count
        if row.centre_x is not None:
            self.centres += row.count * np.array([row.centre_x, row.centre_y, row.centre_z])

    def position(self):
        """(ra, dec, spread in degrees) of the name: from the object positions, else the centres."""
        total, count = (self.objects, self.object_count) if self.object_count \
            else (self.centres, self.count)
        length = float(np.linalg.norm(total))
        if length == 0.0:
            return None, None, 180.0
        ra, dec = direction(total)
        # the mean resultant length: 1 where every position is the same
        return ra, dec, math.degrees(math.acos(min(1.0, length / count)))


class PublishedTargets:
    """The names of the published observations' targets and their positions (module docstring)."""

    def __init__(self, rows):
        self.names = collections.defaultdict(_Names)
        self.max_fov = 0.0
        for row in rows:
            for spelling in {row.object, row.target_name} - {None, ""}:
                if fold(spelling):
                    self.names[fold(spelling)].add(spelling, row)
            self.max_fov = max(self.max_fov, row.max_fov or 0.0)

    def resolve(self, name):
        """The Resolution of name, None if no published observation has it, NotResolved if its
        observations do not give one position."""
        found = self.names.get(fold(name))
        if found is None:
            return None
        target = found.spellings.most_common(1)[0][0]
        ra, dec, spread = found.position()
        if spread > SPREAD_LIMIT_DEG:
            raise NotResolved(
                f"“{name}” names {found.count} published observations ({target}) whose positions"
                f" scatter by {spread:.1f}° about their mean: not one target; give RA and Dec")
        return Resolution(name=name, ra=ra, dec=dec, resolver=PUBLISHED, target=target,
                          observations=found.count)


def unit_vector(ra, dec):
    ra, dec = math.radians(ra), math.radians(dec)
    return np.array([math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec)])


def direction(vector):
    """(ra, dec) in degrees of a vector, ra in [0, 360)."""
    x, y, z = vector
    return math.degrees(math.atan2(y, x)) % 360.0, math.degrees(math.atan2(z, math.hypot(x, y)))


# ---------------------------------------------------------------- Sesame
class SesameFailed(Exception):
    """Sesame gave no position; the message says why."""


@dataclass(frozen=True)
class Sesame:
    """CDS's Sesame at these URLs (tried in turn; etc/site.yaml's name_resolver), waited for at
    most `timeout` seconds."""

    urls: tuple
    timeout: float

    def position(self, name):
        """(ra, dec) in degrees (ICRS) of name; SesameFailed saying why not."""
        future = _sesame_threads.submit(_ask_sesame, name, tuple(self.urls), self.timeout)
        try:
            return future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            raise SesameFailed(f"Sesame did not answer within {self.timeout:g} s") from None


# The lookups run in these threads so that the page never waits longer than the timeout, even
# where the network swallows packets or a DNS lookup hangs (which no socket timeout bounds).
_sesame_threads = concurrent.futures.ThreadPoolExecutor(max_workers=4,
                                                        thread_name_prefix="sesame")


@functools.lru_cache(maxsize=512)  # positions only: a failure raises, and is not kept
def _ask_sesame(name, urls, timeout):
    from astropy.coordinates import name_resolve
    from astropy.utils import data

    # astropy reads both from process-wide settings; every caller in a process sets the same
    # (the service's configuration), so concurrent lookups do not disturb one another.
    name_resolve.sesame_url.set(list(urls))
    # Longer than the caller waits (Sesame.position): a silent Sesame is always "did not answer
    # within", never, by a race of two equal timeouts, astropy's own wording of the same thing.
    data.conf.remote_timeout = 2 * timeout
    try:
        coordinates = name_resolve.get_icrs_coordinates(name)
    except name_resolve.NameResolveError as exc:
        if "Unable to find coordinates" in str(exc):
            raise SesameFailed("Sesame does not know it either") from None
        raise SesameFailed(f"Sesame could not be reached ({_reasons(exc)})") from None
    except (OSError, ValueError) as exc:
        raise SesameFailed(f"Sesame could not be reached ({exc})") from None
    return float(coordinates.ra.deg), float(coordinates.dec.deg)


def _reasons(exc):
    """'cds.unistra.fr: Connection refused; ...' from astropy's "All Sesame queries failed ...
    <url>: <reason>" lines."""
    reasons = []
    for line in str(exc).splitlines()[1:]:
        url, _, reason = line.strip().partition(": ")
        if reason:
            reasons.append(f"{urllib.parse.urlsplit(url).netloc}: "
                           f"{ERRNO.sub('', reason)}")
    return "; ".join(reasons) or str(exc)


# ---------------------------------------------------------------- both
def resolve(name, published, sesame=None):
    """The Resolution of a target name: from the published targets (PublishedTargets), else
    from Sesame (a Sesame, or None not to ask it). NotResolved says why there is none."""
    name = (name or "").strip()
    if not fold(name):
        raise NotResolved(f"“{name}” is not a name")
    found = published.resolve(name)
    if found:
        return found
    missing = f"not found: “{name}” is not the target of any published observation"
    if sesame is None:
        raise NotResolved(f"{missing} (and no Sesame is configured); give RA and Dec")
    try:
        ra, dec = sesame.position(name)
    except SesameFailed as exc:
        raise NotResolved(f"{missing}, and {exc}; give RA and Dec") from None
    return Resolution(name=name, ra=ra, dec=dec, resolver=SESAME)
