"""TAP examples (/tap/examples, DALI examples: XHTML with RDFa): the use cases are there, each
names its tables, and each query runs and finds observations."""

import pytest
import requests
from lxml import html

USE_CASES = {
    "Observations of the Crab Nebula (cone search)": "CONTAINS(POINT('ICRS', s_ra, s_dec)",
    "Observations with events above 50 TeV": "energy_max > 5e13",
    "Observations in a time window": "t_min < 53348 AND t_max > 53343",
    "The HE-ObsCore shape: ObsCore joined with its HE extension":
        "ivoa.obscore NATURAL JOIN ivoa.obscore_hea",
    "A gammapy obs-index from a collection table": "FROM hess_dr1.obs",
    "Good time within an hour of an alert (transient follow-up)":
        "g.t_start <= 53343.95 + 1.0/24 AND g.t_stop >= 53343.95 - 1.0/24",
    "Good time at an instant or in a window (gavo_goodtime_overlaps)":
        "1 = gavo_goodtime_overlaps(t_intervals, 53343.95 - 1.0/24, 53343.95 + 1.0/24)",
    "Which software wrote an event list (provenance)":
        "g.entity_id = o.obs_publisher_did || '#events'",
}


@pytest.fixture(scope="module")
def examples(service):
    response = requests.get(f"{service.tap_url}/examples", timeout=60)
    assert response.status_code == 200
    document = html.fromstring(response.content)
    found = {}
    for example in document.xpath('//*[@typeof="example"]'):
        name = example.xpath('.//*[@property="name"]')[0].text_content().strip()
        query = example.xpath('.//*[@property="query"]')[0].text_content().strip()
        tables = [t.text_content() for t in example.xpath('.//*[@property="table"]')]
        found[name] = (example.get("id"), query, tables)
    return found


def test_every_use_case_is_an_example(examples):
    for name, fragment in USE_CASES.items():
        assert name in examples, sorted(examples)
        assert fragment in " ".join(examples[name][1].split()), examples[name][1]


def test_every_example_names_its_tables_and_has_an_id(examples):
    for name, (ident, _, tables) in examples.items():
        assert ident and tables, name


def test_capabilities_declare_the_examples(service):
    capabilities = requests.get(f"{service.tap_url}/capabilities", timeout=60).text
    assert "ivo://ivoa.net/std/DALI#examples" in capabilities


def test_every_example_query_runs_and_finds_observations(examples, tap):
    assert len(examples) >= len(USE_CASES)
    for name, (_, query, _) in examples.items():
        result = tap.search(query, maxrec=1000)
        assert len(result) > 0, name


def test_the_crab_example_finds_the_crab_runs(examples, tap):
    query = examples["Observations of the Crab Nebula (cone search)"][1]
    result = tap.search(query)
    assert {"23523", "23526", "23559", "23592"} <= {str(o) for o in result["obs_id"]}


def test_the_provenance_example_names_the_creator_of_23523(examples, tap):
    query = examples["Which software wrote an event list (provenance)"][1]
    [row] = tap.search(query)
    assert (row["software"], row["version"]) == ("SASH FITS::EventListWriter", "1.4")


def test_the_gammapy_example_gives_what_gammapy_needs(examples, tap):
    # gammapy's VO client builds its obs-index from these columns of the TAP row (CLIENTS.md).
    required = {"obs_id", "obs_mode", "ra_pnt", "dec_pnt", "alt_pnt", "az_pnt", "tstart", "tstop"}
    query = examples["A gammapy obs-index from a collection table"][1]
    result = tap.search(query)
    assert required <= set(result.fieldnames)
    assert len(result) >= 4
    assert result.get_first_datalink_service_descriptor() if hasattr(
        result, "get_first_datalink_service_descriptor") else True
