"""The queries astronomers and their clients send, through pyvo, sync and async."""

import pytest
import requests

CRAB_CONE = "1=CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.633, 22.0145, 3))"
HESS = "obs_collection='HESS-DL3-DR1'"
# H.E.S.S. DR1 holds Crab runs 23523, 23526, 23559, 23592 (pointed 0.5 deg off the Crab).
CRAB_RUNS = {"23523", "23526", "23559", "23592"}


def run(tap, adql, mode):
    if mode == "sync":
        return tap.search(adql, maxrec=10000)
    return tap.run_async(adql, maxrec=10000)


@pytest.fixture(params=["sync", "async"])
def mode(request):
    return request.param


def obs_ids(result):
    return {str(r["obs_id"]) for r in result}


def test_crab_cone(tap, mode):
    result = run(tap, f"SELECT obs_id, target_name FROM ivoa.obscore WHERE {CRAB_CONE}", mode)
    assert obs_ids(result) == CRAB_RUNS
    assert {r["target_name"] for r in result} == {"Crab Nebula"}


def filtered_client_side(tap, columns, keep):
    """The observations a condition should select, decided here from all rows."""
    rows = tap.search(f"SELECT obs_id, {columns} FROM ivoa.obscore WHERE {HESS}", maxrec=10000)
    return {str(r["obs_id"]) for r in rows if keep(r)}


@pytest.mark.parametrize("threshold", [5e13, 9e13])
def test_energy_cut(tap, mode, threshold):
    result = run(tap, f"SELECT obs_id, energy_max FROM ivoa.obscore"
                      f" WHERE energy_max > {threshold} AND {HESS}", mode)
    assert len(result) > 0
    assert obs_ids(result) == filtered_client_side(
        tap, "energy_max", lambda r: r["energy_max"] > threshold)


def test_time_range_overlap(tap, mode):
    # 2004-12-04 to 2004-12-09 (MJD 53343 to 53348, UTC): the Crab runs of December 2004 and more.
    start, end = 53343.0, 53348.0
    result = run(tap, f"SELECT obs_id, t_min, t_max FROM ivoa.obscore"
                      f" WHERE t_min < {end} AND t_max > {start}", mode)
    assert CRAB_RUNS <= obs_ids(result)
    assert obs_ids(result) == filtered_client_side(
        tap, "t_min, t_max", lambda r: r["t_min"] < end and r["t_max"] > start)


HE_DRAFT_QUERY = """
SELECT * FROM ivoa.obscore NATURAL JOIN ivoa.obscore_hea
WHERE (target_name='Crab Nebula'
       OR 1=CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.63, 22.01, 1)))
  AND dataproduct_type='event-list' AND calib_level>=2
  AND em_calib_status='calibrated' AND ev_xel>=1000
"""


def test_he_draft_query(tap, mode):
    result = run(tap, HE_DRAFT_QUERY, mode)
    assert obs_ids(result) == CRAB_RUNS
    names = set(result.fieldnames)
    assert {"ev_xel", "energy_min", "t_intervals", "event_type", "s_region", "access_url"} <= names


def test_natural_join_gives_one_row_per_observation(tap):
    joined = tap.search(f"SELECT COUNT(*) AS n FROM ivoa.obscore NATURAL JOIN ivoa.obscore_hea"
                        f" WHERE {HESS}")
    assert joined[0]["n"] == 105


# The CTAO data explorer's fragments (CLIENTS.md), ANDed as it sends them.
EXPLORER_CONE = "1=CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.63, 22.01, 5))"
EXPLORER_TIME = "t_min < 53350 AND t_max > 53340"
EXPLORER_ENERGY = "energy_max >= 1*1e12 AND energy_min <= 10*1e12"


@pytest.mark.parametrize("table", ["ivoa.obscore", "hess_dr1.obs"])
def test_data_explorer_search(tap, mode, table):
    adql = (f"SELECT TOP 100 * FROM {table} WHERE {EXPLORER_CONE} AND {EXPLORER_TIME}"
            f" AND {EXPLORER_ENERGY} AND tracking_type='sidereal' AND pointing_mode='parallel'"
            f" AND obs_mode='WOBBLE' AND ivo_nocasematch(target_name, '%crab%')=1")
    assert obs_ids(run(tap, adql, mode)) == CRAB_RUNS


def test_data_explorer_without_top_reports_overflow(service):
    resp = requests.get(f"{service.tap_url}/sync", params={
        "REQUEST": "doQuery", "LANG": "ADQL", "MAXREC": "10",
        "QUERY": f"SELECT * FROM ivoa.obscore WHERE {HESS}"}, timeout=30)
    assert resp.status_code == 200
    assert 'name="QUERY_STATUS" value="OVERFLOW"' in resp.text


def explorer_request(service, adql):
    """A request as the CTAO data explorer sends it (POST, FORMAT=json)."""
    return requests.post(f"{service.tap_url}/sync", data={
        "REQUEST": "doQuery", "LANG": "ADQL", "FORMAT": "json", "QUERY": adql}, timeout=5)


@pytest.mark.parametrize("table", ["ivoa.obscore", "hess_dr1.obs"])
def test_data_explorer_column_discovery(service, table):
    """The explorer first asks TAP_SCHEMA.columns for schema_name, which TAP_SCHEMA does not
    have (table_name is qualified); it then probes with SELECT TOP 1 <columns>, which must work."""
    schema, name = table.split(".")
    discovery = explorer_request(
        service, "SELECT column_name FROM TAP_SCHEMA.columns"
                 f" WHERE lower(schema_name) = '{schema}' AND lower(table_name) = '{name}'")
    assert discovery.status_code < 500
    wanted = ["energy_min", "energy_max", "tracking_mode", "tracking_type", "pointing_mode",
              "obs_mode", "proposal_id", "target_name"]
    probe = explorer_request(service, f"SELECT TOP 1 {', '.join(wanted)} FROM {table}")
    assert probe.status_code == 200
    assert [c["name"] for c in probe.json()["columns"]] == wanted
    # The standard discovery, as TOPCAT does it, lists the columns with their metadata.
    standard = explorer_request(
        service, f"SELECT column_name FROM TAP_SCHEMA.columns WHERE table_name = '{table}'")
    assert set(wanted) <= {row[0] for row in standard.json()["data"]}


def test_data_explorer_sees_errors_in_status(service):
    resp = requests.get(f"{service.tap_url}/sync", params={
        "REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT nonsense FROM ivoa.obscore"},
        timeout=30)
    assert resp.status_code in (200, 400)
    assert 'name="QUERY_STATUS" value="ERROR"' in resp.text
    assert "nonsense" in resp.text


def test_gammapy_style_query_on_collection_table(tap, mode):
    result = run(tap, "SELECT * FROM hess_dr1.obs WHERE 1=CONTAINS(POINT('ICRS', s_ra, s_dec),"
                      " CIRCLE('ICRS', 83.63, 22.01, 2))", mode)
    assert obs_ids(result) == CRAB_RUNS
    required = {"obs_id", "obs_mode", "ra_pnt", "dec_pnt", "alt_pnt", "az_pnt", "tstart", "tstop"}
    optional = {"zen_pnt", "ontime", "livetime", "deadc", "date_obs", "time_obs", "date_end",
                "time_end", "n_tels", "tellist", "quality", "object", "glon_pnt", "glat_pnt",
                "ra_obj", "dec_obj", "event_count", "mjdrefi", "mjdreff", "timesys"}
    assert required | optional <= set(result.fieldnames)
    for row in result:
        int(row["obs_id"])  # gammapy needs it int-like
        for name in required:
            assert row[name] is not None and str(row[name]) != "--", (row["obs_id"], name)


# The CTA data model's search use cases (issue: observing configuration and provenance).
def test_all_crab_runs_with_all_four_telescopes(tap, mode):
    result = run(tap, "SELECT obs_id, n_tels, tellist FROM ivoa.obscore NATURAL JOIN"
                      " ivoa.obscore_hea WHERE target_name='Crab Nebula' AND n_tels=4"
                      " AND 1=ivo_hasword(tellist, '4')", mode)
    assert obs_ids(result) <= CRAB_RUNS and len(result) >= 1
    assert all(r["n_tels"] == 4 for r in result)


def test_runs_including_a_telescope(tap):
    """Sub-array membership: every DR1 run used telescopes 1-4; none used a telescope 5."""
    with_4 = tap.search("SELECT obs_id, tellist FROM hess_dr1.obs WHERE 1=ivo_hasword(tellist, '4')",
                        maxrec=1000)
    assert len(with_4) == 105
    assert all("4" in r["tellist"].split(",") for r in with_4)
    with_5 = tap.search("SELECT obs_id FROM hess_dr1.obs WHERE 1=ivo_hasword(tellist, '5')")
    assert len(with_5) == 0


def test_data_produced_with_event_class_std(tap, mode):
    result = run(tap, "SELECT obs_id, ev_class, creator FROM ivoa.obscore NATURAL JOIN"
                      " ivoa.obscore_hea WHERE ev_class='std'", mode)
    assert len(result) == 105
    assert all(r["creator"] for r in result)


def test_observations_at_zenith_below_30(tap, mode):
    result = run(tap, "SELECT obs_id, zenith FROM ivoa.obscore NATURAL JOIN ivoa.obscore_hea"
                      " WHERE zenith < 30", mode)
    assert 0 < len(result) < 105
    assert all(r["zenith"] < 30 for r in result)


# ---- the README's recipes for times and target names


def readme_recipes():
    """The python blocks of the README's "Times and target names as alerts give them"."""
    import os
    import re

    from instance import PROJECT_ROOT

    with open(os.path.join(PROJECT_ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("### Times and target names as alerts give them")
    return re.findall(r"```python\n(.*?)```", text[start:text.index("\n### ", start + 1)], re.S)


def run_recipe(service, *blocks):
    names = {}
    exec("\n".join(blocks).replace("http://localhost:8080", service.url), names)
    return names


def test_the_readme_time_recipes(service):
    """One instant as ISO UTC, ISO TT, MJD TT and H.E.S.S. MET gives one MJD (UTC) to the
    millisecond, and the minute after it finds run 23523, which started then."""
    times, names = readme_recipes()[:2]
    found = run_recipe(service, times, names)
    millisecond = 0.001 / 86400
    for key in ("from_tt", "from_mjd_tt", "from_met"):
        assert abs(found[key] - found["from_utc"]) < millisecond, key
    assert obs_ids(found["hits"]) == {"23523"}
    assert obs_ids(found["crab"]) >= CRAB_RUNS
    assert found["target"]["object"] == "Crab Nebula"
    assert (found["target"]["ra_obj"], found["target"]["dec_obj"]) == pytest.approx((83.6333, 22.0144), abs=1e-3)


def test_the_readme_sesame_recipe(service):
    """Where the network reaches CDS, M 87's cone (no observation here looked there)."""
    from astropy.coordinates.name_resolve import NameResolveError

    times, _, sesame = readme_recipes()
    try:
        found = run_recipe(service, times, sesame)
    except NameResolveError as exc:
        pytest.skip(f"Sesame is not reachable from here: {str(exc).splitlines()[0]}")
    assert found["m87"].dec.deg == pytest.approx(12.391, abs=0.01)
    assert len(found["nearby"]) == 0
