"""gavo_goodtime_overlaps(t_intervals, lo, hi), the ADQL function on t_intervals
(dachs_ext/adql_functions.py), through the real server, sync and async (async jobs run in a
process of their own, which must know the function too).

Its answers are compared with what the test computes itself from the GTI HDUs of the FITS files
with astropy (test_gti.gti_of_files): instants inside a GTI, at its edges, just outside them, and
windows around them, over every H.E.S.S. and CTA 1DC observation; in ivoa.obscore, a collection
table and joins. The gaps between GTIs of one observation are HAWC's (test_hawc.py, where HAWC is
published). Bad arguments give an ADQL error naming what is wrong, never a 500.
"""

import math
import os
import re

import pytest
import requests
from lxml import etree
from pyvo.dal import DALQueryError

from instance import PROJECT_ROOT
from test_errors import check_message, tap_parameters, vo_error
from test_gti import COLLECTIONS, gti_of_files

FUNCTION = "gavo_goodtime_overlaps"
# Days (0.9 ms): well beyond the 1e-9 days by which the service's and the test's astropy may
# differ, well below any GTI's length.
EPSILON = 1e-8
HOUR = 1 / 24
MODES = ("sync", "async")


def run(tap, mode, query):
    if mode == "sync":
        return tap.search(query, maxrec=100000)
    return tap.run_async(query, maxrec=100000)


def did_key(did):
    """('hess_dr1', '23523') from ivo://<authority>/hess_dr1?23523."""
    schema, key = did.rsplit("/", 1)[1].split("?")
    return schema, key


@pytest.fixture(scope="module")
def gtis(request):
    """{(schema, obs_id): [(start, stop)]} of every H.E.S.S. and CTA 1DC observation, in MJD (UTC),
    from the FITS files."""
    found = {}
    for schema, (fixture, index_name) in COLLECTIONS.items():
        for obs_id, intervals in gti_of_files(request.getfixturevalue(fixture), index_name).items():
            found[schema, obs_id] = intervals
    return found


@pytest.fixture(scope="module")
def gti_23523(gtis):
    [(start, stop)] = gtis["hess_dr1", "23523"]
    return start, stop


def expected(gtis, lo, hi):
    return {key for key, intervals in gtis.items() if any(a <= hi and b >= lo for a, b in intervals)}


def found(tap, mode, lo, hi, table="ivoa.obscore"):
    """The (schema, obs_id) of the H.E.S.S. and CTA 1DC datasets of table the function finds."""
    rows = run(tap, mode, f"SELECT obs_publisher_did FROM {table}"
                          f" WHERE 1 = {FUNCTION}(t_intervals, {lo!r}, {hi!r})")
    return {key for key in map(did_key, rows["obs_publisher_did"]) if key[0] in COLLECTIONS}


def windows(start, stop):
    """(what, lo, hi, whether 23523 had good time then) around 23523's one GTI."""
    middle = (start + stop) / 2
    return [
        ("an instant inside", middle, middle, True),
        ("just after the start", start + EPSILON, start + EPSILON, True),
        ("just before the start", start - EPSILON, start - EPSILON, False),
        ("just before the stop", stop - EPSILON, stop - EPSILON, True),
        ("just after the stop", stop + EPSILON, stop + EPSILON, False),
        ("an hour ending just before the start", start - HOUR, start - EPSILON, False),
        ("an hour ending just after the start", start - HOUR, start + EPSILON, True),
        ("an hour starting just after the stop", stop + EPSILON, stop + HOUR, False),
        ("a window holding the whole GTI", start - HOUR, stop + HOUR, True),
        ("a window inside the GTI", start + EPSILON, stop - EPSILON, True),
        ("the transient example: an alert at 53343.95, +-1 h", 53343.95 - HOUR, 53343.95 + HOUR, True),
    ]


# ---- TAPRegExt: the function is declared


def test_capabilities_declare_the_function(service):
    root = etree.fromstring(requests.get(f"{service.tap_url}/capabilities", timeout=60).content)
    udfs = root.xpath("//languageFeatures[@type='ivo://ivoa.net/std/TAPRegExt#features-udf']/feature")
    [feature] = [f for f in udfs if f.findtext("form").startswith(FUNCTION + "(")]
    assert feature.findtext("form") == f"{FUNCTION}(intervals VARCHAR, lo DOUBLE, hi DOUBLE) -> INTEGER"
    assert "ivoa.obscore_gti" in feature.findtext("description")


# ---- the answers, against the FITS files


@pytest.mark.parametrize("mode", MODES)
def test_the_function_finds_what_the_gti_hdus_say(tap, gtis, gti_23523, mode):
    for what, lo, hi, has_23523 in windows(*gti_23523):
        assert (("hess_dr1", "23523") in expected(gtis, lo, hi)) == has_23523, what
        assert found(tap, mode, lo, hi) == expected(gtis, lo, hi), what


@pytest.mark.parametrize("mode", MODES)
def test_the_edges_are_inside(tap, gti_23523, mode):
    """[lo, hi] and the GTIs are closed: the published t_start and t_stop themselves match,
    the doubles next to them outside do not."""
    did_of_23523 = "ivo://%/hess_dr1?23523"
    [gti] = run(tap, mode, f"SELECT t_start, t_stop FROM ivoa.obscore_gti WHERE obs_publisher_did LIKE '{did_of_23523}'")
    start, stop = float(gti["t_start"]), float(gti["t_stop"])
    assert abs(start - gti_23523[0]) < EPSILON and abs(stop - gti_23523[1]) < EPSILON
    for instant, inside in ((start, True), (stop, True), (math.nextafter(start, -math.inf), False),
                            (math.nextafter(stop, math.inf), False)):
        assert (("hess_dr1", "23523") in found(tap, mode, instant, instant)) == inside, instant


@pytest.mark.parametrize("mode", MODES)
def test_in_a_collection_table(tap, gtis, gti_23523, mode):
    middle = sum(gti_23523) / 2
    wanted = {key for key in expected(gtis, middle - HOUR, middle + HOUR) if key[0] == "hess_dr1"}
    assert ("hess_dr1", "23523") in wanted
    assert found(tap, mode, middle - HOUR, middle + HOUR, table="hess_dr1.obs") == wanted


@pytest.mark.parametrize("join", [
    "ivoa.obscore AS o JOIN ivoa.obscore_hea AS h ON h.obs_publisher_did = o.obs_publisher_did",
    "ivoa.obscore AS o NATURAL JOIN ivoa.obscore_hea AS h",
    "hess_dr1.obs AS o JOIN ivoa.obscore_gti AS g ON g.obs_publisher_did = o.obs_publisher_did",
])
@pytest.mark.parametrize("mode", MODES)
def test_in_joins(tap, gtis, gti_23523, join, mode):
    start, stop = gti_23523
    rows = run(tap, mode, f"SELECT DISTINCT o.obs_publisher_did FROM {join}"
                          f" WHERE 1 = {FUNCTION}(o.t_intervals, {start - HOUR!r}, {start + EPSILON!r})")
    wanted = {key for key in expected(gtis, start - HOUR, start + EPSILON)
              if key[0] == "hess_dr1" or not join.startswith("hess_dr1.obs")}
    assert ("hess_dr1", "23523") in wanted
    assert {did_key(did) for did in rows["obs_publisher_did"]} & set(gtis) == wanted


def test_unqualified_in_a_join_with_another_obs_publisher_did(service):
    """The README says to qualify t_intervals there: PostgreSQL's message says why."""
    response = requests.post(f"{service.tap_url}/sync", timeout=60, data=tap_parameters({
        "QUERY": "SELECT o.obs_id FROM ivoa.obscore AS o JOIN ivoa.obscore_hea AS h"
                 " ON h.obs_publisher_did = o.obs_publisher_did"
                 f" WHERE 1 = {FUNCTION}(t_intervals, 53343.9, 53344)"}))
    assert response.status_code == 200
    check_message(vo_error(response), r'column reference "obs_publisher_did" is ambiguous')


def test_the_readme_example_runs(tap):
    """The README's pyvo example of the function ("Querying it"), as written, with this service."""
    with open(os.path.join(PROJECT_ROOT, "README.md"), encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    [example] = [block for block in blocks if FUNCTION in block]
    namespace = {"tap": tap}
    exec(example, namespace)
    assert "23523" in {str(o) for o in namespace["hits"]["obs_id"]}


@pytest.mark.parametrize("mode", MODES)
def test_as_a_value_and_negated(tap, gtis, gti_23523, mode):
    """In a select list it is 1 or 0; `0 = ...` is every other dataset."""
    lo, hi = gti_23523[0] - HOUR, gti_23523[0] + EPSILON
    wanted = {key[1] for key in expected(gtis, lo, hi) if key[0] == "hess_dr1"}
    rows = run(tap, mode, f"SELECT obs_id, {FUNCTION}(t_intervals, {lo!r}, {hi!r}) AS good FROM hess_dr1.obs")
    assert {str(r["obs_id"]) for r in rows if r["good"] == 1} == wanted
    assert {int(r["good"]) for r in rows} == {0, 1}
    others = run(tap, mode, f"SELECT obs_id FROM hess_dr1.obs WHERE 0 = {FUNCTION}(t_intervals, {lo!r}, {hi!r})")
    assert {str(o) for o in others["obs_id"]} == {str(r["obs_id"]) for r in rows} - wanted


def test_the_condition_is_a_semi_join_on_the_gti_table(service):
    """What DaCHS sends to PostgreSQL (its query INFO): the GTI condition itself, not a comparison
    with a CASE, in the form of the GTI tables' GiST index, so that PostgreSQL can plan it with
    the index."""
    response = requests.post(f"{service.tap_url}/sync", timeout=60, data=tap_parameters({
        "QUERY": f"SELECT obs_id FROM ivoa.obscore WHERE 1 = {FUNCTION}(t_intervals, 53343.9, 53344)"}))
    assert response.status_code == 200
    [sql] = etree.fromstring(response.content).xpath("//*[local-name()='INFO'][@name='sql_query']/@value")
    assert "WHERE (obs_publisher_did IN (SELECT gti.obs_publisher_did FROM ivoa.obscore_gti AS gti" \
           " WHERE float8range(gti.t_start, gti.t_stop, '[]') && float8range(53343.9, 53344.0, '[]')))" in sql, sql
    assert "CASE" not in sql, sql
    # Through the ivoa.obscore_gti view, the planner reaches every GTI table's GiST index (with
    # sequential scans off: at 105 and 4 observations it rightly prefers them).
    indexes = service.instance.db.value("SELECT count(*) FROM pg_indexes WHERE indexname = 'gti_interval'")
    plan = [row[0] for row in service.instance.db.query(
        "SET enable_seqscan=off; EXPLAIN " + sql.replace("%%", "%"))]
    scans = [line for line in plan if re.search(r"Index Scan (using|on) gti_interval ", line)]
    assert indexes >= 2 and len(scans) == indexes, plan


# ---- bad arguments

BAD_CALLS = [
    ("lo after hi", "t_intervals, 53344, 53343", r"lo \(53344.0\) is after hi \(53343.0\)"),
    ("a string bound", "t_intervals, 'yesterday', 53343", r"lo must be a constant number of MJD.*'yesterday'"),
    ("a column as bound", "t_intervals, t_min, 53343", r"lo must be a constant number.*join ivoa.obscore_gti"),
    ("a geometry as bound", "t_intervals, 53343, POINT('ICRS', 1, 2)", r"hi must be a constant number"),
    ("a bound that cannot be computed", "t_intervals, 53343, 1/0", r"hi = 1 / 0 cannot be computed.*division by zero"),
    ("another column", "target_name, 53343, 53344", r"the first argument must be a t_intervals column.*not target_name"),
    ("an expression of t_intervals", "t_intervals || 'x', 53343, 53344", r"the first argument must be a t_intervals column"),
    ("two arguments", "t_intervals, 53343", r"takes 3 arguments.*not 2"),
    ("four arguments", "t_intervals, 53343, 53344, 53345", r"takes 3 arguments.*not 4"),
]


@pytest.mark.parametrize("name, arguments, pattern", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_arguments_sync(service, name, arguments, pattern):
    response = requests.post(f"{service.tap_url}/sync", timeout=60, data=tap_parameters({
        "QUERY": f"SELECT obs_id FROM ivoa.obscore WHERE 1 = {FUNCTION}({arguments})"}))
    assert response.status_code == 200  # as every client error (test_errors.py)
    check_message(vo_error(response), FUNCTION + ": " + pattern)


@pytest.mark.parametrize("name, arguments, pattern", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_arguments_async(tap, name, arguments, pattern):
    with pytest.raises(DALQueryError) as raised:
        tap.run_async(f"SELECT obs_id FROM ivoa.obscore WHERE 1 = {FUNCTION}({arguments})")
    check_message(str(raised.value), FUNCTION + ": " + pattern)
