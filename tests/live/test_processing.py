"""The processing service (UWS), through a real server and real gammapy: a Crab spectrum and light
curve from the four H.E.S.S. Crab runs compared with the same analysis run here on the release's
files (gammapy_reference.py: its own code, only the parameters shared); the products published
(their ObsCore rows, {links}, #progenitor links, files); UWS phases, progress, cancel,
destruction, the limits and every error; rights inherited from a proprietary input.

The jobs are small (a few energy bins, 1D spectra), about 10 s each on 2 cores.
"""

import datetime
import io
import json
import os
import re
import subprocess
import time
import urllib.parse

import numpy as np
import pytest
import requests
from astropy.io import fits
from astropy.table import Table
from lxml import etree

from rights import MEMBER, OUTSIDER, OWNER_GROUP, PROPRIETARY_OBS, RELEASE_DATE
from test_datalink import GAMMAPY_PYTHON

DID = "ivo://cherenkov-dl3.vo/hess_dr1?{}"
CRAB_RUNS = ("23523", "23526", "23559", "23592")
# The parameters the service and the reference analysis share: the Crab, three energy bins, and
# two time bins (the night of 2004-12-04, and the nights of 6 and 8 December).
CRAB = {"ra": 83.633, "dec": 22.014, "on_radius": 0.11, "energy_edges": [1, 3, 10, 30],
        "time_edges": [53343.5, 53344.5, 53348.5]}
UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PRODUCTS = {"spectrum-dataset": "spectrum", "flux-points": "sed", "light-curve": "light-curve"}
FINAL = ("COMPLETED", "ERROR", "ABORTED")
# STILTS reports a finding nine times, then "E-SMCO-x (<n> more)": more of the known one.
KNOWN_REPEATS = re.compile(r"E-SMCO-x \(\d+ more\)$")
# Each wait gives up (failing the test, never hanging the suite) after this many seconds.
PATIENCE = 600


def endpoint(service):
    return f"{service.url}/derived/q/proc/uws.xml"


def crab_parameters(**changes):
    values = {"ID": [DID.format(run) for run in CRAB_RUNS], "RA": CRAB["ra"],
              "DEC": CRAB["dec"], "ON_RADIUS": CRAB["on_radius"],
              "ENERGY_EDGES": " ".join(map(str, CRAB["energy_edges"])),
              "TIME_EDGES": " ".join(map(str, CRAB["time_edges"]))}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def create(service, parameters, auth=None, run=True):
    """POSTs a new job (PHASE=RUN with it: UWS 1.1); returns its URL."""
    data = dict(parameters, PHASE="RUN") if run else parameters
    response = requests.post(endpoint(service), data=data, auth=auth, timeout=60)
    assert response.status_code == 200, response.text[:500]
    assert "/derived/q/proc/" in response.url, response.url
    return response.url


def job_document(url, auth=None, wait=None):
    params = {"WAIT": wait} if wait else None
    response = requests.get(url, params=params, auth=auth, timeout=PATIENCE)
    assert response.status_code == 200, response.text[:300]
    return etree.fromstring(response.content)


def phase(document):
    return document.findtext(f"{UWS}phase")


def wait(url, auth=None, until=FINAL):
    """The job document once the job reaches a phase of until (UWS slow polls: WAIT)."""
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=PATIENCE)
    while datetime.datetime.now() < deadline:
        document = job_document(url, auth, wait=30)
        if phase(document) in until:
            return document
    pytest.fail(f"{url} did not reach {until} in {PATIENCE} s; last phase {phase(document)}")


def error_message(document):
    return document.findtext(f"{UWS}errorSummary/{UWS}message") or ""


def run_job(service, parameters, auth=None):
    url = create(service, parameters, auth)
    return url, wait(url, auth)


def job_id(url):
    return url.rstrip("/").rsplit("/", 1)[1]


@pytest.fixture(scope="module", autouse=True)
def products_withdrawn_at_the_end(service):
    """The products made here are withdrawn when the module ends, as `python3 -m instance
    withdraw-products` does: later tests count the DL3 datasets of ivoa.obscore."""
    yield
    jobs = [row[0] for row in service.instance.db.query(
        "SELECT DISTINCT job_id FROM derived.products")]
    service.instance.withdraw_products(jobs)


# ---- the Crab, through the service and here


@pytest.fixture(scope="module")
def crab_job(service):
    """(job URL, final job document) of the Crab analysis."""
    url, document = run_job(service, crab_parameters())
    assert phase(document) == "COMPLETED", error_message(document)
    return url, document


@pytest.fixture(scope="module")
def reference(hess_dir, tmp_path_factory):
    """The same analysis, made here with gammapy on the release's own files."""
    parameters = tmp_path_factory.mktemp("reference") / "parameters.json"
    parameters.write_text(json.dumps(dict(CRAB, obs_ids=[int(r) for r in CRAB_RUNS])))
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gammapy_reference.py")
    out = subprocess.run([GAMMAPY_PYTHON, script, hess_dir, str(parameters)],
                         capture_output=True, text=True, timeout=PATIENCE)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.splitlines()[-1])
    assert found["fit_success"]
    return found


def result(url, name, auth=None):
    response = requests.get(f"{url}/results/{name}", auth=auth, timeout=60)
    assert response.status_code == 200, (name, response.status_code)
    return response


def fits_table(content):
    with fits.open(io.BytesIO(content)) as hdulist:
        return Table(hdulist[1].data)


def test_flux_points_equal_the_reference(crab_job, reference):
    points = fits_table(result(crab_job[0], "flux-points").content)
    for name, expected in reference["flux_points"].items():
        np.testing.assert_allclose(np.ravel(points[name]), expected, rtol=1e-9, err_msg=name)
    # the Crab: a significant detection in every bin, near the reference power law
    assert all(ts > 9 for ts in reference["flux_points"]["ts"])


def test_light_curve_equals_the_reference(crab_job, reference):
    curve = fits_table(result(crab_job[0], "light-curve").content)
    assert len(curve) == len(CRAB["time_edges"]) - 1
    for name, expected in reference["light_curve"].items():
        np.testing.assert_allclose(np.ravel(curve[name]), expected, rtol=1e-9, err_msg=name)


def test_spectrum_dataset_is_a_gammapy_dl4_dataset(crab_job, tmp_path):
    path = tmp_path / "spectrum-dataset.fits"
    path.write_bytes(result(crab_job[0], "spectrum-dataset").content)
    script = ("import sys, json; from gammapy.datasets import SpectrumDatasetOnOff;"
              " d = SpectrumDatasetOnOff.read(sys.argv[1]);"
              " print(json.dumps({'on': float(d.counts.data.sum()),"
              " 'off': float(d.counts_off.data.sum()), 'bins': d.counts.geom.axes[0].nbin}))")
    out = subprocess.run([GAMMAPY_PYTHON, "-c", script, str(path)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout)
    assert found["bins"] == len(CRAB["energy_edges"]) - 1
    assert found["on"] > found["off"] / 12 > 0  # the Crab stands out of its background


def test_plots_are_png(crab_job):
    for product in PRODUCTS:
        assert result(crab_job[0], f"{product}-plot").content.startswith(PNG_SIGNATURE)


# ---- the job document


def test_job_document_is_uws_1_1(crab_job):
    from dachs_ext import xml_schemas
    url, document = crab_job
    raw = requests.get(url, timeout=60).content
    assert xml_schemas.xsd_errors(raw) is None
    assert document.get("version") == "1.1"
    assert document.findtext(f"{UWS}endTime") and document.findtext(f"{UWS}startTime")


def test_parameters_are_listed_one_value_each(crab_job):
    parameters = crab_job[1].findall(f"{UWS}parameters/{UWS}parameter")
    ids = [p.text for p in parameters if p.get("id") == "ID"]
    assert ids == [DID.format(run) for run in CRAB_RUNS]
    by_name = {p.get("id"): p.text for p in parameters if p.get("id") != "ID"}
    assert by_name["ENERGY_EDGES"] == "1 3 10 30" and by_name["ON_RADIUS"] == "0.11"


def test_progress_is_in_job_info(crab_job):
    info = crab_job[1].find(f"{UWS}jobInfo")
    assert info.findtext("step") == info.findtext("steps") == "9"
    assert info.findtext("stage") == "publishing the products"
    assert [u.text for u in info.findall("used")] == [DID.format(r) for r in CRAB_RUNS]


def test_pyvo_reads_the_job_and_its_result(crab_job):
    from pyvo.dal.tap import AsyncTAPJob
    job = AsyncTAPJob(crab_job[0], delete=False)
    assert job.phase == "COMPLETED"
    assert {r.id_ for r in job.results} == {"result"} | set(PRODUCTS) | {
        f"{p}-plot" for p in PRODUCTS}
    table = job.fetch_result().to_table()
    assert dict(zip(table["product"], table["dataproduct_type"])) == PRODUCTS
    assert int(job.job.jobinfo["step"].value) == 9


# ---- the published products


@pytest.fixture(scope="module")
def crab_products(tap, crab_job):
    """{product: its ivoa.obscore row}."""
    rows = tap.search("SELECT o.*, d.product FROM ivoa.obscore AS o JOIN derived.products AS d"
                      " ON d.obs_publisher_did = o.obs_publisher_did"
                      f" WHERE d.job_id = '{job_id(crab_job[0])}'")
    return {row["product"]: row for row in rows}


@pytest.fixture(scope="module")
def crab_inputs(tap):
    dids = ", ".join(repr(DID.format(run)) for run in CRAB_RUNS)
    return tap.search("SELECT obs_publisher_did, t_min, t_max, t_exptime FROM ivoa.obscore"
                      f" WHERE obs_publisher_did IN ({dids})")


def test_each_product_has_its_obscore_row(crab_products, crab_job):
    assert {p: row["dataproduct_type"] for p, row in crab_products.items()} == PRODUCTS
    for product, row in crab_products.items():
        assert row["calib_level"] == 4
        assert row["obs_collection"] == "DERIVED"
        assert row["obs_id"] == job_id(crab_job[0])
        assert row["obs_publisher_did"] == (f"ivo://cherenkov-dl3.vo/derived?"
                                            f"{job_id(crab_job[0])}-{product}")
        assert row["target_name"] == "Crab Nebula" and row["facility_name"] == "H.E.S.S."
        assert row["data_rights"] == "public"
        assert row["access_format"] == "application/x-votable+xml;content=datalink"


def test_coverage_is_what_was_derived(crab_products, crab_inputs, reference):
    points = reference["flux_points"]
    for product, row in crab_products.items():
        assert (row["s_ra"], row["s_dec"]) == (CRAB["ra"], CRAB["dec"])
        assert row["s_fov"] == pytest.approx(2 * CRAB["on_radius"])
        # the good time of the four runs (each light-curve bin holds two of them)
        assert row["t_min"] == pytest.approx(min(crab_inputs["t_min"]), abs=1e-6)
        assert row["t_max"] == pytest.approx(max(crab_inputs["t_max"]), abs=1e-6)
        assert row["t_exptime"] == pytest.approx(sum(crab_inputs["t_exptime"]), rel=1e-5)
        assert row["t_intervals"]
        assert row["energy_min"] == pytest.approx(min(points["e_min"]) * 1e12)
        assert row["energy_max"] == pytest.approx(max(points["e_max"]) * 1e12)
        assert row["em_min"] == pytest.approx(1.2398419843320026e-06 / row["energy_max"])
    assert crab_products["light-curve"]["t_xel"] == len(CRAB["time_edges"]) - 1
    assert crab_products["flux-points"]["em_xel"] == len(points["e_ref"])


def test_the_region_holds_the_target(tap, crab_job):
    found = tap.search("SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_collection='DERIVED'"
                       f" AND obs_id='{job_id(crab_job[0])}' AND 1=CONTAINS("
                       f"POINT('ICRS', {CRAB['ra']}, {CRAB['dec']}), s_region)")
    assert len(found) == 3


def test_products_are_found_from_their_progenitors(tap, crab_job):
    rows = tap.search("SELECT obs_publisher_did FROM derived.progenitors"
                      f" WHERE progenitor_did = '{DID.format('23523')}'")
    assert {f"ivo://cherenkov-dl3.vo/derived?{job_id(crab_job[0])}-{p}" for p in PRODUCTS} \
        <= set(rows["obs_publisher_did"])


@pytest.fixture(scope="module")
def flux_points_links(crab_products):
    return crab_products["flux-points"].getdatalink()


def test_product_links(flux_points_links, crab_job):
    by_semantics = {}
    for row in flux_points_links:
        assert not row["error_message"], row["error_message"]
        by_semantics.setdefault(row["semantics"], []).append(row)
    [this] = by_semantics["#this"]
    assert this["content_qualifier"] == "sed" and this["content_type"] == "application/fits"
    body = requests.get(this["access_url"], timeout=60).content
    assert len(body) == int(this["content_length"])
    assert body == result(crab_job[0], "flux-points").content
    [plot] = by_semantics["#preview-plot"]
    assert requests.get(plot["access_url"], timeout=60).content.startswith(PNG_SIGNATURE)
    # the job's documentation; the provenance documents (local_semantics provenance...) beside
    [documentation] = [r for r in by_semantics["#documentation"] if not r["local_semantics"]]
    text = requests.get(documentation["access_url"], timeout=60).text
    assert "gammapy 2.1" in text and "No scientific publications may be derived" in text
    assert len(by_semantics["#proc"]) == 1


def test_progenitor_links_lead_to_the_dl3_datasets(flux_points_links):
    import pyvo
    progenitors = list(flux_points_links.bysemantics("#progenitor", include_narrower=False))
    assert len(progenitors) == len(CRAB_RUNS)
    found = set()
    for row in progenitors:
        assert row["content_type"] == "application/x-votable+xml;content=datalink"
        links = pyvo.dal.adhoc.DatalinkResults.from_result_url(row["access_url"])
        found |= set(links["ID"])
        assert [r for r in links.bysemantics("#this", include_narrower=False)
                if r["content_qualifier"] == "event-list"]
    assert found == {DID.format(run) for run in CRAB_RUNS}


def test_provenance_documents_name_the_job_and_exactly_its_inputs(service, crab_products,
                                                                   crab_job, tmp_path):
    """The PROV-JSON, PROV-XML and PROV-N documents of a product (read with the prov library,
    test_provenance.py): the product, the job as an activity with gammapy's version and its
    parameters, and the four DL3 datasets it used, no other."""
    import prov
    from test_provenance import PROVENANCE_TYPES, fetch, provenance_links, read_everywhere
    did = crab_products["flux-points"]["obs_publisher_did"]
    links = provenance_links(service, "derived", did)
    bodies = {fmt: fetch(links[("provenance", t)]) for t, fmt in PROVENANCE_TYPES.items()}
    read = read_everywhere(tmp_path, bodies)
    inputs = {DID.format(run) for run in CRAB_RUNS}
    job = f"ivo://cherenkov-dl3.vo/derived?{job_id(crab_job[0])}"
    assert read["activities"][job] == "gammapy"
    datasets = {uri for uri in read["entities"] if not uri.startswith(f"{job}.")}
    assert datasets == {did} | inputs  # the job's parameters are entities job.<name>
    assert {uri.rsplit(".", 1)[1] for uri in read["entities"] if uri.startswith(f"{job}.")} \
        == {"RA", "DEC", "ON_RADIUS", "ENERGY_EDGES", "TIME_EDGES"}
    document = prov.read(io.StringIO(bodies["json"].decode()), format="json")
    [activity] = [r for r in document.get_records(prov.model.ProvActivity)
                  if r.identifier.uri == job]
    assert {str(v) for v in activity.get_attribute("voprov:version")} == {"2.1"}


def test_provtap_finds_the_products_of_23523(tap, crab_products):
    """ProvTAP: which products were derived from obs 23523, and by which activity."""
    rows = tap.search("SELECT d.generated_entity_id, a.name, a.version"
                      " FROM provenance.wasderivedfrom AS d"
                      " JOIN provenance.wasgeneratedby AS g ON g.entity_id = d.generated_entity_id"
                      " JOIN provenance.activity AS a ON a.id = g.activity_id"
                      f" WHERE d.used_entity_id = '{DID.format('23523')}'")
    found = {r["generated_entity_id"]: (r["name"], r["version"]) for r in rows}
    for row in crab_products.values():
        assert found[row["obs_publisher_did"]] == ("gammapy", "2.1")
    light_curve = crab_products["light-curve"]["obs_publisher_did"]
    parameters = tap.search("SELECT name, param_value, unit FROM provenance.parameter"
                            " WHERE activity_id IN (SELECT activity_id FROM"
                            f" provenance.wasgeneratedby WHERE entity_id = '{light_curve}')")
    values = {r["name"]: (r["param_value"], r["unit"]) for r in parameters}
    assert values["ENERGY_EDGES"] == ("1 3 10 30", "TeV")
    assert values["ON_RADIUS"] == ("0.11", "deg")


def test_datalinklint_on_the_links_of_two_products(service, crab_products):
    """STILTS's DataLink validator: no finding but the known one (test_datalinklint.py)."""
    from test_datalinklint import KNOWN_ERRORS
    query = urllib.parse.urlencode([("ID", crab_products[p]["obs_publisher_did"])
                                    for p in ("flux-points", "light-curve")])
    out = subprocess.run(["stilts", "datalinklint",
                          f"votable={service.url}/derived/q/dl/dlmeta?{query}"],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    report = out.stdout + out.stderr
    assert "Totals: Errors:" in report, report[-2000:]
    findings = [line for line in report.splitlines() if line.startswith(("E-", "F-", "W-"))
                and not KNOWN_REPEATS.match(line)]
    assert all(any(text in line for text in KNOWN_ERRORS) for line in findings), findings


def test_the_readme_example(service):
    """The README's search, spectrum job, flux points and their provenance, as written there."""
    from instance import PROJECT_ROOT
    with open(os.path.join(PROJECT_ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("### Products made on the server with gammapy")
    [block] = re.findall(r"```python\n(.*?)```", text[start:text.index("\n### ", start + 1)],
                         re.S)
    names = {"print": lambda *args: None}
    exec(block.replace("http://localhost:8080", service.url), names)
    assert len(names["points"]) == 3 and np.isfinite(names["points"]["norm"]).all()
    assert len(names["made_from"]) == len(CRAB_RUNS)
    provenance = names["provenance"]
    assert set(provenance["entity_id"]) == {DID.format(run) for run in CRAB_RUNS}
    assert set(zip(provenance["name"], provenance["version"])) == {("gammapy", "2.1")}


def test_the_search_page_lists_observations_not_products(service, crab_products):
    """The web search page is for observations: the products at the Crab are not listed."""
    from test_webform import Page
    assert Page(service, target="Crab", radius="3").obs_ids == set(CRAB_RUNS)


def test_dl3_links_offer_the_processing_service(service):
    import pyvo
    did = DID.format("23523")
    links = pyvo.dal.adhoc.DatalinkResults.from_result_url(
        f"{service.url}/hess_dr1/q/dl/dlmeta?ID={urllib.parse.quote(did)}")
    [proc] = [p for p in links.iter_procs() if p.access_url.endswith("/async")]
    params = {p.name: p for p in proc.input_params}
    assert set(params) == {"ID", "RA", "DEC", "ON_RADIUS", "ENERGY_EDGES", "TIME_EDGES"}
    assert params["ID"].value == did and params["RA"].unit == "deg"
    assert requests.get(proc.access_url, timeout=60).status_code == 200  # the job list


# ---- errors, each a job in ERROR saying what is wrong


@pytest.mark.parametrize("changes, message", [
    ({"RA": "abc"}, "Bad parameter RA: 'abc' is not a number"),
    ({"DEC": "95"}, "Bad parameter DEC: 95 is outside [-90, 90]"),
    ({"RA": None}, "Bad parameter RA: missing"),
    ({"ID": None}, "Bad parameter ID: no dataset given"),
    ({"ID": "23523"}, "Bad parameter ID: '23523' is no obs_publisher_did"),
    ({"ON_RADIUS": "0"}, "Bad parameter ON_RADIUS: 0 is not in (0, 1] degrees"),
    ({"ENERGY_EDGES": "10 3"}, "Bad parameter ENERGY_EDGES: the edges must increase: 3 after 10"),
    ({"ENERGY_EDGES": "1"}, "Bad parameter ENERGY_EDGES: give at least two edges"),
    ({"TIME_EDGES": "53343.5 soon"}, "Bad parameter TIME_EDGES: 'soon' is not a number"),
    ({"ID": [DID.format("99999")]},
     f"No published DL3 dataset has the ID {DID.format('99999')}"),
    ({"RA": "10", "DEC": "-30"}, "No matching observation: " + DID.format("23523")
     + ": the on-region (0.11 deg around RA 10, Dec -30) is not inside its field of view"),
    ({"ENERGY_EDGES": "300 500 1000"}, "The analysis failed: no observation could be analysed:"
     " 23523: no energy bin of ENERGY_EDGES lies in its safe energy range"),
], ids=["ra-text", "dec-range", "no-ra", "no-id", "id-not-a-did", "on-radius", "energy-order",
        "one-edge", "time-text", "unknown-id", "outside-the-field", "failing-analysis"])
def test_errors_end_the_job_saying_why(service, changes, message):
    url, document = run_job(service, crab_parameters(**changes))
    assert phase(document) == "ERROR"
    assert message in error_message(document)
    assert requests.get(f"{url}/error", timeout=60).status_code == 200


def test_too_many_datasets(service, tap):
    dids = list(tap.search("SELECT obs_publisher_did FROM hess_dr1.obs")["obs_publisher_did"])
    limit = service.instance.site.processing.max_observations
    assert len(dids) > limit, "the test needs more datasets than a job may name"
    url, document = run_job(service, crab_parameters(ID=dids[:limit + 1]))
    assert phase(document) == "ERROR"
    assert (f"Bad parameter ID: {limit + 1} datasets given; a job takes at most {limit}"
            in error_message(document))


def test_an_unknown_parameter_is_refused_when_the_job_is_made(service):
    response = requests.post(endpoint(service), data=crab_parameters(ENERGY_EGDES="1 2"),
                             timeout=60)
    assert response.status_code == 400
    assert "not accepted by this service: energy_egdes" in response.text


def test_datasets_outside_the_field_are_left_out_with_the_reason(service):
    """A cone search's result may hold observations that do not see the target: they are left
    out, and the job says so."""
    url = create(service, crab_parameters(ID=[DID.format("23523"), DID.format("20136")]),
                 run=False)
    # parameters may change while the job is PENDING
    requests.post(f"{url}/parameters", data={"ON_RADIUS": "0.1"}, timeout=60)
    requests.post(f"{url}/phase", data={"PHASE": "RUN"}, timeout=60)
    document = wait(url)
    assert phase(document) == "COMPLETED", error_message(document)
    assert [p.text for p in document.iter(f"{UWS}parameter") if p.get("id") == "ON_RADIUS"] \
        == ["0.1"]
    info = document.find(f"{UWS}jobInfo")
    assert [u.text for u in info.findall("used")] == [DID.format("23523")]
    [left_out] = info.findall("leftOut")
    assert left_out.text == DID.format("20136")
    assert "not inside its field of view" in left_out.get("reason")


# ---- phases, cancel, limits, destruction


def running_analyses(url):
    """The pids of processes whose command line names this job's directory."""
    marker = f"/{job_id(url)}/analysis/"
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


def test_abort_stops_the_analysis(service, tap):
    url = create(service, crab_parameters())
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=PATIENCE)
    while datetime.datetime.now() < deadline:  # until gammapy runs (progress step 3 on)
        document = job_document(url)
        step = int(document.findtext(f"{UWS}jobInfo/step") or 0)
        if step >= 3 or phase(document) in FINAL:
            break
        time.sleep(0.5)
    assert phase(document) == "EXECUTING" and running_analyses(url)
    response = requests.post(f"{url}/phase", data={"PHASE": "ABORT"}, timeout=60)
    assert response.status_code == 200
    document = wait(url)
    assert phase(document) == "ABORTED"
    assert not running_analyses(url)
    assert not len(tap.search(f"SELECT * FROM derived.products WHERE job_id='{job_id(url)}'"))


def test_a_pending_job_waits_for_run_and_can_be_aborted(service):
    url = create(service, crab_parameters(), run=False)
    assert phase(job_document(url)) == "PENDING"
    requests.post(f"{url}/phase", data={"PHASE": "ABORT"}, timeout=60)
    assert phase(job_document(url)) == "ABORTED"


def test_jobs_beyond_the_limit_wait_queued(service):
    limit = service.instance.site.processing.max_running_jobs
    urls = [create(service, crab_parameters()) for _ in range(limit + 1)]
    try:
        phases = [phase(job_document(url)) for url in urls]
        assert phases.count("EXECUTING") <= limit
        assert phases[-1] == "QUEUED", phases
    finally:
        for url in reversed(urls):
            requests.post(f"{url}/phase", data={"PHASE": "ABORT"}, timeout=60)
    assert all(phase(wait(url)) == "ABORTED" for url in urls)


def test_execution_duration_stops_a_long_analysis(service):
    url = create(service, crab_parameters(), run=False)
    requests.post(f"{url}/executionduration", data={"EXECUTIONDURATION": "1"}, timeout=60)
    requests.post(f"{url}/phase", data={"PHASE": "RUN"}, timeout=60)
    document = wait(url)
    assert phase(document) == "ERROR"
    assert ("ran longer than the job's execution duration (1 s) and was stopped"
            in error_message(document))
    assert not running_analyses(url)


def test_destruction_time_is_the_configured_lifetime(service):
    url = create(service, crab_parameters(), run=False)
    document = job_document(url)
    created = datetime.datetime.fromisoformat(document.findtext(f"{UWS}creationTime")[:-1])
    destruction = datetime.datetime.fromisoformat(document.findtext(f"{UWS}destruction")[:-1])
    lifetime = datetime.timedelta(days=service.instance.site.processing.job_lifetime_days)
    assert abs(destruction - created - lifetime) <= datetime.timedelta(seconds=1)
    requests.post(f"{url}/destruction", data={"DESTRUCTION": "2030-01-02T03:04:05"},
                  timeout=60)
    assert requests.get(f"{url}/destruction", timeout=60).text == "2030-01-02T03:04:05Z"
    assert requests.delete(url, timeout=60, allow_redirects=False).status_code == 303
    assert requests.get(url, timeout=60).status_code == 404


# ---- rights: products of a proprietary observation


def proprietary_parameters():
    # 20303 looks at MSH 15-52 (the pulsar wind nebula), 0.5 deg from its pointing
    return crab_parameters(ID=[DID.format(PROPRIETARY_OBS)], RA="228.6125", DEC="-59.2717",
                           TIME_EDGES=None)


@pytest.fixture(scope="module")
def proprietary_job(service):
    url, document = run_job(service, proprietary_parameters(), auth=MEMBER)
    assert phase(document) == "COMPLETED", error_message(document)
    return url


@pytest.mark.parametrize("auth", [None, OUTSIDER], ids=["anonymous", "outside-the-group"])
def test_only_members_may_analyse_proprietary_data(service, auth):
    url, document = run_job(service, proprietary_parameters(), auth=auth)
    assert phase(document) == "ERROR"
    assert (f"Not allowed: dataset {DID.format(PROPRIETARY_OBS)} is proprietary until"
            f" {RELEASE_DATE}" in error_message(document))


def test_products_inherit_the_rights(tap, proprietary_job):
    rows = tap.search("SELECT obs_publisher_did, data_rights, obs_release_date, owner, t_xel"
                      f" FROM derived.products WHERE job_id='{job_id(proprietary_job)}'")
    assert len(rows) == 3
    for row in rows:
        assert row["data_rights"] == "proprietary" and row["owner"] == OWNER_GROUP
        assert str(row["obs_release_date"]).startswith(RELEASE_DATE)
    # one light-curve bin per observation without TIME_EDGES
    assert [r["t_xel"] for r in rows if r["obs_publisher_did"].endswith("light-curve")] == [1]
    # the metadata is public, like the observation's
    found = tap.search("SELECT data_rights FROM ivoa.obscore WHERE obs_id ="
                       f" '{job_id(proprietary_job)}'")
    assert set(found["data_rights"]) == {"proprietary"}


@pytest.mark.parametrize("part", ["product", "plot", "documentation"])
def test_product_files_need_the_owner_group(service, proprietary_job, part):
    did = f"ivo://cherenkov-dl3.vo/derived?{job_id(proprietary_job)}-flux-points"
    url = f"{service.url}/derived/q/dl/dlget"

    def get(auth):
        return requests.get(url, params={"ID": did, "PART": part}, auth=auth, timeout=60)

    assert get(None).status_code == 401
    assert get(OUTSIDER).status_code == 401
    assert get(MEMBER).status_code == 200


def test_the_job_and_its_results_are_its_owners(proprietary_job):
    for auth, status in ((None, 401), (OUTSIDER, 401), (MEMBER, 200)):
        assert requests.get(proprietary_job, auth=auth, timeout=60).status_code == status
        response = requests.get(f"{proprietary_job}/results/flux-points", auth=auth, timeout=60)
        assert response.status_code == status


def test_a_destroyed_job_leaves_its_products_published(service, tap, proprietary_job):
    assert requests.delete(proprietary_job, auth=MEMBER, timeout=60,
                           allow_redirects=False).status_code == 303
    assert requests.get(proprietary_job, auth=MEMBER, timeout=60).status_code == 404
    did = f"ivo://cherenkov-dl3.vo/derived?{job_id(proprietary_job)}-light-curve"
    response = requests.get(f"{service.url}/derived/q/dl/dlget", params={"ID": did},
                            auth=MEMBER, timeout=60)
    assert response.status_code == 200 and response.content.startswith(b"SIMPLE")


def test_withdrawn_products_are_gone_everywhere(service, tap, proprietary_job):
    jid = job_id(proprietary_job)
    directory = os.path.join(service.instance.root, "derived", jid)
    assert os.path.isdir(directory)
    dids = service.instance.withdraw_products([jid])[jid]
    assert sorted(dids) == sorted(f"ivo://cherenkov-dl3.vo/derived?{jid}-{p}" for p in PRODUCTS)
    assert not len(tap.search(f"SELECT * FROM ivoa.obscore WHERE obs_id = '{jid}'"))
    listed = ", ".join(repr(did) for did in dids)
    assert not len(tap.search("SELECT * FROM derived.progenitors"
                              f" WHERE obs_publisher_did IN ({listed})"))
    assert not len(tap.search(f"SELECT * FROM provenance.entity WHERE id IN ({listed})"))
    response = requests.get(f"{service.url}/derived/q/dl/dlget", params={"ID": dids[0]},
                            auth=MEMBER, timeout=60)
    assert response.status_code == 404
    assert not os.path.exists(directory)
