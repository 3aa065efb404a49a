"""One source per value: what the EVENTS header and the obs-index row both say.

The header is the primary source and the obs-index the fallback (ingest/obs_index.py). Values that
belong together — a coordinate pair, a date with its time, the exposure keywords — come from one
source as a whole (`choose`): where the header lacks a member that the obs-index gives, the whole
group comes from the obs-index (a note says so), never one value from each. A position made of the
obs-index's RA and the header's Dec is no position at all.

Where both sources give a value (the pointing, the start and stop times, the live time, the
object), they are compared (`disagreements`): beyond the tolerances below they are a disagreement
that names both sources and both values. It rejects the observation, unless the collection says
`on_disagreement: prefer_header` (etc/collections.yaml), which keeps the header's with a note.
"""

import math
import os

from astropy import units as u
from astropy.time import Time

from .times import quiet_leap_seconds
from .values import as_float, as_str, shown

# Columns (of ingest/observation.py's GADF_KEYWORDS) that come from one source together. ZEN_PNT is
# not in the horizon pair: headers often give ALT_PNT/AZ_PNT only, and an obs-index its ZEN_PNT.
GROUPS = (
    ("ra_pnt", "dec_pnt"), ("glon_pnt", "glat_pnt"), ("alt_pnt", "az_pnt"),
    ("ra_obj", "dec_obj"), ("date_obs", "time_obs"), ("date_end", "time_end"),
    ("ontime", "livetime", "deadc"),
)
# An obs-index is often float32 (7 significant digits: 30 s of a TSTART of 3e8 s, 3e-5 degrees of
# an RA of 300): the tolerances stay above that, and far below what would matter to a user.
POINTING_TOLERANCE_DEG = 0.01  # 36 arcsec, a tenth of an IACT's PSF
TIME_TOLERANCE_S = 1.0
TIME_RELATIVE_TOLERANCE = 2e-7  # of the value in seconds since MJDREF (float32's resolution, twice)
LIVETIME_RELATIVE_TOLERANCE = 1e-3
DISAGREEMENT_CHOICES = ("reject", "prefer_header")


def lookup(source, keywords):
    """The value of the first keyword the source (LocatedHdu or IndexRow) gives, or None."""
    for key in keywords:
        value = source.optional(key)
        if value is not None:
            return value
    return None


def choose(events, obs_index_row, keywords, notes, sources=None):
    """{column: raw value} for the columns of `keywords` (column -> keyword spellings), each group
    from one source: the header's, unless the obs-index gives every member the header gives and
    more. Where each gives a member the other lacks, the header's alone (a note says so).
    sources, a dict, receives {column: the source (events or obs_index_row) its value is from}."""
    chosen = {}
    sources = {} if sources is None else sources
    grouped = {c for group in GROUPS for c in group}
    for group in GROUPS + tuple((c,) for c in keywords if c not in grouped):
        header = {c: lookup(events, keywords[c]) for c in group}
        index = {c: lookup(obs_index_row, keywords[c]) for c in group}
        in_header = {c for c in group if header[c] is not None}
        in_index = {c for c in group if index[c] is not None}
        if in_index <= in_header:
            chosen.update(header)
            sources.update(dict.fromkeys(group, events))
            continue
        names = ", ".join(keywords[c][0] for c in group)
        first_lacking = keywords[min(in_index - in_header, key=group.index)][0]
        if in_header <= in_index:
            chosen.update(index)
            sources.update(dict.fromkeys(group, obs_index_row))
            if in_header:
                notes.append(events.error(f"not all of {names} in the header: the obs-index's"
                                          " are used, all of them", first_lacking))
        else:
            chosen.update(header)
            sources.update(dict.fromkeys(group, events))
            notes.append(events.error(f"the header and the obs-index each lack some of {names}:"
                                      " the header's are used, none of the obs-index's", first_lacking))
    return chosen


def disagreements(events, obs_index_row, obs_index_header, reference):
    """IngestErrors, one per quantity on which the header and the obs-index row disagree beyond
    tolerance: the pointing, TSTART/TSTOP, LIVETIME, OBJECT. reference: the header's time
    reference (ingest/times.py), which the obs-index shares unless its header has its own MJDREF."""
    if not obs_index_row:
        return []
    found = [_pointing(events, obs_index_row)]
    if reference is not None:
        found += [_time(events, obs_index_row, obs_index_header, reference, key)
                  for key in ("TSTART", "TSTOP")]
    found += [_livetime(events, obs_index_row), _object(events, obs_index_row)]
    return [problem for problem in found if problem is not None]


def _both(events, obs_index_row, key, convert=as_float):
    a, b = convert(events.optional(key)), convert(obs_index_row.optional(key))
    return (a, b) if a is not None and b is not None else (None, None)


def _disagreement(events, obs_index_row, keys, header_value, index_value, how):
    where = obs_index_row.table_name or "OBS_INDEX"
    row = f" row {obs_index_row.number}" if obs_index_row.number else ""
    index_file = os.path.basename(obs_index_row.path) if obs_index_row.path else "the obs-index"
    return events.error(f"{header_value} in the header, {index_value} in {index_file}[{where}]{row}:"
                        f" {how} (the sources disagree; `on_disagreement: prefer_header` in the"
                        " collection's configuration keeps the header's)", keys)


def _pointing(events, obs_index_row):
    ra = _both(events, obs_index_row, "RA_PNT")
    dec = _both(events, obs_index_row, "DEC_PNT")
    if None in ra or None in dec or not all(map(math.isfinite, ra + dec)):
        return None
    separation = _separation_deg(ra[0], dec[0], ra[1], dec[1])
    if separation <= POINTING_TOLERANCE_DEG:
        return None
    return _disagreement(events, obs_index_row, "RA_PNT, DEC_PNT",
                         f"({shown(ra[0])}, {shown(dec[0])})", f"({shown(ra[1])}, {shown(dec[1])})",
                         f"{separation:.4g} degrees apart, more than {POINTING_TOLERANCE_DEG:g}")


def _separation_deg(ra1, dec1, ra2, dec2):
    ra1, dec1, ra2, dec2 = map(math.radians, (ra1, dec1, ra2, dec2))
    # haversine: exact for the small angles that matter here
    h = math.sin((dec2 - dec1) / 2) ** 2 + math.cos(dec1) * math.cos(dec2) * math.sin((ra2 - ra1) / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))


def _time(events, obs_index_row, obs_index_header, reference, key):
    header, index = _both(events, obs_index_row, key)
    if header is None or not (math.isfinite(header) and math.isfinite(index)):
        return None
    to_s = u.Unit(reference.timeunit).to(u.s)
    apart = abs(header * to_s - index * to_s - _index_offset_s(obs_index_header, reference))
    tolerance = max(TIME_TOLERANCE_S, TIME_RELATIVE_TOLERANCE * abs(index * to_s))
    if apart <= tolerance:
        return None
    return _disagreement(events, obs_index_row, key, shown(header), shown(index),
                         f"{apart:.4g} s apart, more than {tolerance:.3g} s")


def _index_offset_s(obs_index_header, reference):
    """Seconds from the header's MJDREF to the obs-index's (0 where the obs-index states none:
    it shares the header's), counted in the header's time scale."""
    mjdrefi = as_float(obs_index_header.get("MJDREFI"))
    if mjdrefi is None:
        return 0.0
    mjdreff = as_float(obs_index_header.get("MJDREFF")) or 0.0
    scale = (as_str(obs_index_header.get("TIMESYS")) or reference.timesys).lower()
    if scale == reference.scale:
        return ((mjdrefi - reference.mjdrefi) + (mjdreff - reference.mjdreff)) * 86400.0
    with quiet_leap_seconds():
        index_reference = Time(mjdrefi, mjdreff, format="mjd", scale=scale)
        return float((index_reference - reference.reference_time()).to_value(u.s))


def _livetime(events, obs_index_row):
    header, index = _both(events, obs_index_row, "LIVETIME")
    if header is None or not (math.isfinite(header) and math.isfinite(index)):
        return None
    tolerance = max(TIME_TOLERANCE_S, LIVETIME_RELATIVE_TOLERANCE * abs(header))
    if abs(header - index) <= tolerance:
        return None
    return _disagreement(events, obs_index_row, "LIVETIME", shown(header), shown(index),
                         f"{abs(header - index):.4g} s apart, more than {tolerance:.3g} s")


def _object(events, obs_index_row):
    header, index = _both(events, obs_index_row, "OBJECT", as_str)
    if header is None or _plain_name(header) == _plain_name(index):
        return None
    return _disagreement(events, obs_index_row, "OBJECT", repr(header), repr(index),
                         "different names")


def _plain_name(text):
    """A name as compared: case and spacing do not count ("Crab  nebula" is "Crab Nebula")."""
    return " ".join(text.split()).casefold()
