"""The web search page's conditions (rd/search.rd.in): where what people type becomes SQL.

The RD's phraseMakers call cone_conditions and time_conditions, and its `parpair` render
function calls parameter_item, which says under "Parameters" of the results what the input was
taken to mean: the position a target name resolved to and which resolver answered, a time in
UTC. The conversions are plain Python (search/); here they meet DaCHS: the database (the
published targets, a collection's MJDREF), input errors as DaCHS's ValidationError (a form error
beside the field, never a 500) and SQL parameters.

The search RD's core carries the settings as properties, rendered by rd/render.py:
collectionTables (JSON, {obs_collection: "<schema>.obs"}), sesameURLs (space-separated; none:
never ask Sesame) and sesameTimeout (seconds).

DaCHS loads this file with api.loadPythonModule (rd/search.rd.in); the project root is put on
sys.path so that it can import the project's packages.
"""

import json
import math
import os
import re
import sys

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from gavo import base  # noqa: E402
from twisted.web.template import tags as T  # noqa: E402

from ingest.times import TimeReference  # noqa: E402
from search import targets, times  # noqa: E402
from search.recent import recent  # noqa: E402

# The form's fields (rd/search.rd.in), by what search.times calls them in its errors.
TIME_FIELDS = {"start": "time_from", "stop": "time_to", "system": "time_scale",
               "reference": "met_collection"}
GTI_MATCH, ENVELOPE_MATCH = "gti", "envelope"
TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*")
# Each row: one group of observations with the same names and object position (targets.TargetRow).
TARGETS_SQL = """
    SELECT object, target_name, ra_obj, dec_obj, count(*),
        avg(cos(radians(s_dec)) * cos(radians(s_ra))), avg(cos(radians(s_dec)) * sin(radians(s_ra))),
        avg(sin(radians(s_dec))), max(s_fov)
    FROM {table} GROUP BY object, target_name, ra_obj, dec_obj"""


# ---------------------------------------------------------------- settings
def collection_tables(core):
    """{obs_collection: "<schema>.obs"} of the configured collections."""
    tables = json.loads(core.getProperty("collectionTables"))
    for table in tables.values():
        if not TABLE_NAME.fullmatch(table):  # they go into SQL as names
            raise ValueError(f"collectionTables: {table!r} is not a table name")
    return tables


def sesame(core):
    """The Sesame to ask (search.targets.Sesame), or None if none is configured."""
    urls = tuple(core.getProperty("sesameURLs", "").split())
    return targets.Sesame(urls, float(core.getProperty("sesameTimeout"))) if urls else None


# ---------------------------------------------------------------- the database
def published_targets(core):
    """search.targets.PublishedTargets of every published collection table."""
    tables = tuple(sorted(collection_tables(core).values()))
    return recent(("targets", tables), lambda: targets.PublishedTargets(_target_rows(tables)))


def _target_rows(tables):
    rows = []
    with base.getTableConn() as conn:
        for table in tables:
            # configured collections that are not published have no table
            if list(conn.query("SELECT to_regclass(%(t)s)", {"t": table}))[0][0] is None:
                continue
            rows += [targets.TargetRow(*row) for row in conn.query(TARGETS_SQL.format(table=table))]
    return rows


def time_reference(core, obs_collection):
    """The TimeReference (MJDREF, TIMESYS) the collection's published observations count their
    times from; ValidationError if there is not exactly one."""
    table = collection_tables(core).get(obs_collection)
    if table is None:
        raise base.ValidationError(f"No collection {obs_collection!r}", "met_collection")
    # A collection published a moment ago must not wait for the cache to learn of it.
    references = recent(("mjdref", table), lambda: _references(table)) or _references(table)
    if len(references) != 1:
        found = ", ".join(times.reference_text(r) for r in references) or "none"
        raise base.ValidationError(
            f"A mission elapsed time needs the one MJDREF of {obs_collection}'s published"
            f" observations; they have {len(references)} ({found}): give the time in UTC, TT or"
            " TAI", "met_collection")
    return references[0]


def _references(table):
    with base.getTableConn() as conn:
        if list(conn.query("SELECT to_regclass(%(t)s)", {"t": table}))[0][0] is None:
            return []
        return [TimeReference(mjdrefi, mjdreff, timesys) for mjdrefi, mjdreff, timesys in
                conn.query(f"SELECT DISTINCT mjdrefi, mjdreff, timesys FROM {table}"
                           " WHERE timesys IS NOT NULL ORDER BY 1, 2, 3")]


# ---------------------------------------------------------------- the cone (or a target name)
def resolve(core, name):
    """The search.targets.Resolution of a target name; ValidationError saying why there is none."""
    try:
        return targets.resolve(name, published_targets(core), sesame(core))
    except targets.NotResolved as exc:
        raise base.ValidationError(str(exc), "target") from None


def degrees(in_pars, key, low, high):
    """The form's field `key` as decimal degrees between low and high; None if empty."""
    text = str(in_pars.get(key) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise base.ValidationError(f"{text!r} is not a number of degrees", key) from None
    if not (math.isfinite(value) and low <= value <= high):
        raise base.ValidationError(f"{text} is not between {low} and {high} degrees", key)
    return value


def cone_centre(core, in_pars):
    """(ra, dec, resolution) of the cone: a target name's position, or RA and Dec as given
    (resolution None); (None, None, None) without either."""
    name = (in_pars.get("target") or "").strip()
    ra, dec = degrees(in_pars, "ra", 0, 360), degrees(in_pars, "dec", -90, 90)
    if name:
        if ra is not None or dec is not None:
            raise base.ValidationError("Give a target name or RA and Dec, not both", "target")
        found = resolve(core, name)
        return found.ra, found.dec, found
    if (ra is None) != (dec is None):
        raise base.ValidationError("A position needs both RA and Dec", "ra" if ra is None else "dec")
    return ra, dec, None


def cone_conditions(in_pars, out_pars, core):
    """SQL of the cone: pointings within the radius of the centre or, without a radius,
    observations whose field of view (s_fov) holds the centre."""
    ra, dec, _ = cone_centre(core, in_pars)
    radius = in_pars.get("radius")
    if ra is None:
        if radius is not None:
            raise base.ValidationError("A radius needs a target name or RA and Dec", "radius")
        return
    keys = [base.getSQLKey("ra", ra, out_pars), base.getSQLKey("dec", dec, out_pars)]
    if radius is not None:
        if not 0 <= radius <= 180:
            raise base.ValidationError("Must be between 0 and 180 degrees", "radius")
        yield "q3c_join(%%(%s)s, %%(%s)s, s_ra, s_dec, %%(%s)s)" % (
            *keys, base.getSQLKey("radius", radius, out_pars))
        return
    # The q3c index finds the pointings within the largest field of view's radius; then each
    # observation's own field of view decides.
    reach = published_targets(core).max_fov / 2
    yield ("q3c_join(%%(%s)s, %%(%s)s, s_ra, s_dec, %%(%s)s)"
           " AND q3c_dist(%%(%s)s, %%(%s)s, s_ra, s_dec) <= s_fov / 2") % (
        *keys, base.getSQLKey("reach", reach, out_pars), *keys)


# ---------------------------------------------------------------- the time range
def time_range(core, in_pars):
    """(start, stop) as search.times.ConvertedTime (or None) of the form's time fields."""
    start, stop = in_pars.get("time_from"), in_pars.get("time_to")
    system = in_pars.get("time_scale") or "UTC"
    reference = None
    if system == times.MET and (start or stop):
        collection = in_pars.get("met_collection")
        if not collection:
            raise base.ValidationError(
                "A mission elapsed time counts from a collection's MJDREF: choose the collection",
                "met_collection")
        reference = time_reference(core, collection)
    try:
        return times.time_range(start, stop, system, reference)
    except times.TimeInputError as exc:
        raise base.ValidationError(exc.message, TIME_FIELDS[exc.part]) from None


def time_conditions(in_pars, out_pars, core):
    """SQL of the time range: observations with good time in it (a GTI of ivoa.obscore_gti that
    overlaps it), or with time_match=envelope, observations whose start-to-end overlaps it."""
    start, stop = time_range(core, in_pars)
    gti = []
    if start:
        key = base.getSQLKey("time_from", start.mjd, out_pars)
        yield "t_max >= %%(%s)s" % key
        gti.append("gti.t_stop >= %%(%s)s" % key)
    if stop:
        key = base.getSQLKey("time_to", stop.mjd, out_pars)
        yield "t_min <= %%(%s)s" % key
        gti.append("gti.t_start <= %%(%s)s" % key)
    if gti and (in_pars.get("time_match") or GTI_MATCH) == GTI_MATCH:
        yield ("EXISTS (SELECT 1 FROM ivoa.obscore_gti AS gti"
               " WHERE gti.obs_publisher_did = ivoa.obscore.obs_publisher_did AND %s)"
               % " AND ".join(gti))


# ---------------------------------------------------------------- the results page
def parameter_item(renderer, tag, core):
    """One line of the results page's "Parameters" (DaCHS's parpair, data (label, value)), with
    what the search made of a target name, a position without radius and the times."""
    data = tag.slotData
    if data is None or data[1] is None or "__" in data[0]:
        return ""
    label, value = data
    fields = {key.getLabel(): key.name for key in renderer.service.getInputKeysFor(renderer)}
    inputs = renderer.queryMeta["inputTable"]
    try:
        note = _note(fields.get(label), inputs.getParamDict(), core) if inputs else None
    except Exception as exc:  # the note only explains: it must never cost the results their page
        base.ui.notifyError(f"search page: no note for {label}: {exc!r}")
        note = None
    if not note:
        return tag[f"{label}: {value}"]
    return tag[f"{label}: {value} ", T.span(class_="interpreted")[f"→ {note}"]]


def _note(field, in_pars, core):
    """What the input of the form's field was taken to mean; None where there is nothing to say."""
    without_radius = in_pars.get("radius") is None
    if field == "target":
        _, _, found = cone_centre(core, in_pars)
        return found.describe() + ("; observations whose field of view holds it"
                                   if without_radius else "")
    if field == "ra" and without_radius and not in_pars.get("target"):
        return "observations whose field of view holds RA, Dec"
    if field in ("time_from", "time_to"):
        start, stop = time_range(core, in_pars)
        return (start if field == "time_from" else stop).describe()
    if field == "time_match" and (in_pars.get("time_from") or in_pars.get("time_to")):
        return ("observations with good time (a GTI) in the range"
                if (in_pars.get("time_match") or GTI_MATCH) == GTI_MATCH else
                "observations whose start-to-end overlaps the range")
    return None
