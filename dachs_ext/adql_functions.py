"""The ADQL functions of this service: gavo_goodtime_overlaps(t_intervals, lo, hi).

`1 = gavo_goodtime_overlaps(o.t_intervals, 53343.95 - 1.0/24, 53343.95 + 1.0/24)`: the dataset
had good time overlapping [lo, hi] (MJD, UTC; an instant when lo = hi), answered from
its good time intervals in ivoa.obscore_gti, exactly: the TMOC in t_intervals has ~67 s cells,
and t_min/t_max only bound the good time. It becomes, in SQL,

    o.obs_publisher_did IN (SELECT gti.obs_publisher_did FROM ivoa.obscore_gti AS gti
        WHERE float8range(gti.t_start, gti.t_stop, '[]') && float8range(lo, hi, '[]'))

(t_start <= hi AND t_stop >= lo, as closed ranges), which PostgreSQL plans as a semi-join over
the GiST index of each GTI table's intervals (rd/collection.rd.in); so the function works in
ivoa.obscore, the collection tables and joins, wherever a t_intervals sits beside its
obs_publisher_did. `0 = ...` is NOT that condition; in a select list the function is 1 or 0.

The bounds must be constants (numbers, arithmetic on numbers): PostgreSQL evaluates them once,
here, so that lo > hi is refused with a message before the query runs, and the condition
holds only constants. Bounds from a column (an uploaded alert list) are a join with
ivoa.obscore_gti, which the TAP examples show.

The name: DaCHS's ADQL grammar (2.7 and 2.11) takes a function call for a user-defined function
only if its name starts with gavo_ or ivo_, and ivo_ is the IVOA UDF catalogue's.

DaCHS knows an ADQL function once this module is imported, and must know it before it parses a
query; etc/userconfig.rd (rd/userconfig.rd.in) makes DaCHS import it, in the server and in
the process that runs async TAP jobs (compat.adql_function_loader says how and why).
"""

import functools
import os
import re
import sys

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from gavo import adql, base  # noqa: E402
from gavo.adql import nodes  # noqa: E402

from dachs_ext import compat  # noqa: E402

NAME = "gavo_goodtime_overlaps"
GTI_TABLE = "ivoa.obscore_gti"
# What a constant bound may be: numbers, signs, + - * / and parentheses (as DaCHS writes the
# parsed ADQL back); anything else (a column, a string, a function) is refused.
CONSTANT = re.compile(r"\s*(?:(?:[-+*/()]|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*)+")
BOUNDS = ("lo", "hi")


def _fail(message):
    raise adql.UfuncError(f"{NAME}: {message}")


def _qualifier(column):
    """'o.' for o.t_intervals, '' for t_intervals; refuses anything but a t_intervals column."""
    name = getattr(column, "name", None)
    name = getattr(name, "name", name)  # a delimited identifier: its text
    if getattr(column, "type", None) != "columnReference" or str(name).lower() != "t_intervals":
        _fail(f"the first argument must be a t_intervals column (as in ivoa.obscore or o.t_intervals),"
              f" not {nodes.flatten(column)}")
    return f"{nodes.flatten(column.refName)}." if column.refName else ""


@functools.lru_cache(maxsize=1024)
def _evaluate(bound, text):
    """The value of a constant bound, computed by PostgreSQL (its arithmetic, as in the query)."""
    if not CONSTANT.fullmatch(text) or not re.search(r"\d", text):
        _fail(f"{bound} must be a constant number of MJD (UTC), such as 53343.95 or"
              f" 53343.95 - 1.0/24, not {text} (for bounds from a table, join {GTI_TABLE})")
    try:
        with base.getUntrustedConn() as conn:
            [(value,)] = list(conn.query(f"SELECT CAST(({text}) AS DOUBLE PRECISION)"))
    except base.DBError as exc:
        _fail(f"{bound} = {text} cannot be computed: {str(exc).strip()}")
    return value


def overlap_condition(args):
    """The SQL condition that the dataset of args[0] had good time within [args[1], args[2]]."""
    if len(args) != 3:
        _fail(f"takes 3 arguments (t_intervals, lo, hi), not {len(args)}")
    qualifier = _qualifier(args[0])
    lo, hi = (_evaluate(bound, nodes.flatten(arg)) for bound, arg in zip(BOUNDS, args[1:]))
    if lo > hi:
        _fail(f"lo ({lo!r}) is after hi ({hi!r}): the interval [lo, hi] is empty")
    # repr: the shortest text PostgreSQL reads back as the same double
    return (f"({qualifier}obs_publisher_did IN (SELECT gti.obs_publisher_did FROM {GTI_TABLE} AS gti"
            f" WHERE float8range(gti.t_start, gti.t_stop, '[]') && float8range({lo!r}, {hi!r}, '[]')))")


# The parameter names have no underscore: ADQL-lib 1.5 (STILTS's, which TOPCAT and taplint use
# to check queries) refuses a signature whose parameter names have one.
@adql.userFunction(
    NAME,
    "(intervals VARCHAR, lo DOUBLE, hi DOUBLE) -> INTEGER",
    """
    gavo_goodtime_overlaps returns 1 if the dataset whose t_intervals column
    is given as intervals had good time overlapping the interval [lo, hi]
    (MJD, UTC; lo = hi for an instant; touching counts), 0 otherwise.  It
    answers from the dataset's good time intervals (ivoa.obscore_gti),
    exactly, not from the coarse cells of the t_intervals time MOC.  lo and
    hi must be constant numbers or arithmetic on them; for bounds from a
    table, join ivoa.obscore_gti.  Example, good time within an hour of an
    alert:
    1 = gavo_goodtime_overlaps(t_intervals, 53343.95 - 1.0/24, 53343.95 + 1.0/24).
    Qualify t_intervals in joins with other tables having obs_publisher_did.
    """,
    returntype="integer")
def goodtime_overlaps(args):
    return f"(CASE WHEN {overlap_condition(args)} THEN 1 ELSE 0 END)"


# `1 = gavo_goodtime_overlaps(...)` becomes the condition itself, which PostgreSQL plans as a
# semi-join, rather than a comparison with a CASE it would evaluate row by row.
compat.register_boolean_form(NAME, overlap_condition)

# On a cluster's service host, the async job process this module is imported in needs the
# cluster's hooks too (TAP uploads on the primary).
compat.install_cluster_hooks()

# DaCHS imports this module through a <customCore> (compat.adql_function_loader).
Core = compat.adql_function_loader()
