"""Simple Cone Search over the observations of each collection (/<schema>/q/cone/scs.xml): what
pyvo's SCSService and `stilts cone` get, the registered test query, and the DataLink that leads
from a cone-search row to the files."""

import subprocess

import pytest
import requests
from lxml import etree

CRAB = (83.633, 22.0145)
CRAB_RUNS = {"23523", "23526", "23559", "23592"}
CAP = "{http://www.ivoa.net/xml/VOSICapabilities/v1.0}"


def cone_url(service, schema):
    return f"{service.url}/{schema}/q/cone/scs.xml"


@pytest.fixture(scope="module")
def pyvo():
    import pyvo
    return pyvo


def test_pyvo_crab_cone_finds_the_crab_runs(service, pyvo):
    result = pyvo.dal.SCSService(cone_url(service, "hess_dr1")).search(pos=CRAB, radius=3)
    assert set(result["obs_id"]) == CRAB_RUNS
    # SCS 1.03: one column each for ID_MAIN, POS_EQ_RA_MAIN, POS_EQ_DEC_MAIN
    assert result.fieldname_with_ucd("ID_MAIN") == "obs_id"
    assert result.fieldname_with_ucd("POS_EQ_RA_MAIN") == "s_ra"
    assert result.fieldname_with_ucd("POS_EQ_DEC_MAIN") == "s_dec"
    # sorted by distance to the centre, which is given in degrees
    distances = list(result["_r"])
    assert distances == sorted(distances) and max(distances) <= 3


def test_cone_search_agrees_with_the_tap_cone(service, tap, pyvo):
    for schema, (ra, dec, sr) in [("hess_dr1", (329.7, -30.2, 2)), ("cta_1dc", (266, -28, 3))]:
        scs = pyvo.dal.SCSService(cone_url(service, schema)).search(pos=(ra, dec), radius=sr)
        adql = (f"SELECT obs_id FROM {schema}.obs WHERE 1=CONTAINS(POINT('ICRS', s_ra, s_dec),"
                f" CIRCLE('ICRS', {ra}, {dec}, {sr}))")
        expected = {str(r["obs_id"]) for r in tap.search(adql)}
        assert expected and set(scs["obs_id"]) == expected, schema


def test_empty_cone_is_an_empty_table(service, pyvo):
    result = pyvo.dal.SCSService(cone_url(service, "hess_dr1")).search(pos=(10, 80), radius=0.5)
    assert len(result) == 0 and "obs_id" in result.fieldnames


def test_maxrec_limits_and_verb_selects_columns(service, pyvo):
    scs = pyvo.dal.SCSService(cone_url(service, "hess_dr1"))
    assert len(scs.search(pos=CRAB, radius=3, maxrec=2)) == 2
    few = scs.search(pos=CRAB, radius=3, verbosity=1).fieldnames
    many = scs.search(pos=CRAB, radius=3, verbosity=3).fieldnames
    assert len(few) < len(many) and {"obs_id", "s_ra", "s_dec"} <= set(few)
    assert {"ra_pnt", "tstart", "livetime", "energy_min"} <= set(many)


@pytest.mark.parametrize("schema", ["hess_dr1", "cta_1dc"])
def test_the_registered_test_query_finds_an_observation(service, schema, pyvo):
    caps = etree.fromstring(requests.get(f"{service.url}/{schema}/q/cone/capabilities",
                                         timeout=30).content)
    test_query = caps.find("capability[@standardID='ivo://ivoa.net/std/ConeSearch']/testQuery")
    ra, dec, sr = (float(test_query.findtext(k)) for k in ("ra", "dec", "sr"))
    result = pyvo.dal.SCSService(cone_url(service, schema)).search(pos=(ra, dec), radius=sr)
    assert len(result) >= 1


def test_cone_search_rows_lead_to_datalink(service, pyvo):
    result = pyvo.dal.SCSService(cone_url(service, "hess_dr1")).search(pos=CRAB, radius=3)
    links = result[0].getdatalink()
    semantics = {link["semantics"] for link in links}
    assert {"#this", "#calibration", "#package"} <= semantics


def test_stilts_cone(service):
    out = subprocess.run(
        ["stilts", "cone", f"serviceurl={cone_url(service, 'hess_dr1')}?",
         f"lon={CRAB[0]}", f"lat={CRAB[1]}", "radius=3", "ofmt=csv"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    header = lines[0].split(",")
    obs_ids = {line.split(",")[header.index("obs_id")] for line in lines[1:]}
    assert obs_ids == CRAB_RUNS
