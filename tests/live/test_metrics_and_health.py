"""Metrics, health and the access log of a server (monitoring/, instance/server.py): real
queries of every kind through nginx, then /metrics read with prometheus_client's parser; the
access log's lines; the ingest's counters; /health of a server of its own, 200 while everything
answers and 503, naming the DaCHS process, once one is stopped."""

import json
import os
import signal
import time
import urllib.parse

import pyvo
import pytest
import requests

from instance import Instance, server, stop_process
from metrics_client import scrape, scrape_until, total, value
from monitoring import access_log

DID = "ivo://cherenkov-dl3.vo/hess_dr1?23523"
OTHER_DID = "ivo://cherenkov-dl3.vo/hess_dr1?23526"
HTTP_REQUESTS = "heobs_http_requests_total"
DURATION_COUNT = "heobs_http_request_duration_seconds_count"


def get(service, path, **params):
    return requests.get(f"{service.url}{path}", params=params, timeout=300)


def queries(service):
    """One or more real requests of each service; {service label: requests made}."""
    tap = pyvo.dal.TAPService(service.tap_url)
    assert len(tap.search("SELECT TOP 3 obs_id FROM ivoa.obscore")) == 3
    with pytest.raises(pyvo.DALQueryError):
        tap.search("SELECT nonsense FROM nowhere")  # bad ADQL: 200 and a VOTable error
    assert get(service, "/hess_dr1/q/cone/scs.xml", RA=83.63, DEC=22.01, SR=1).status_code == 200
    assert get(service, "/hess_dr1/q/dl/dlmeta", ID=DID).status_code == 200
    for _ in range(2):  # the second time from the product cache at the latest
        assert get(service, "/hess_dr1/q/dl/dlget", ID=DID, PART="aeff").status_code == 200
    assert get(service, "/bundle/q/dl/dlget", ID=[DID, OTHER_DID]).status_code == 200
    assert get(service, "/search/q/q/form").status_code == 200
    assert get(service, "/hess_dr1/q/dl/dlget", ID="ivo://nowhere?1").status_code in (404, 422)
    return {"tap_sync": 2, "scs": 1, "datalink_links": 1, "datalink_files": 3, "bundle": 1,
            "web_form": 1}


@pytest.fixture(scope="module")
def measured(service):
    """(samples before, requests made, samples after the exporter has counted them)."""
    before = scrape(service.url)
    made = queries(service)
    job = pyvo.dal.TAPService(service.tap_url).submit_job("SELECT TOP 1 obs_id FROM ivoa.obscore")
    job.run()
    job.wait(phases=["COMPLETED", "ERROR"], timeout=120)
    assert len(job.fetch_result()) == 1
    job.delete()

    def counted(samples):
        return all(total(samples, HTTP_REQUESTS, service=label) - total(before, HTTP_REQUESTS, service=label)
                   >= number for label, number in made.items())

    return before, made, scrape_until(service.url, counted)


def increase(before, after, name, **labels):
    return total(after, name, **labels) - total(before, name, **labels)


def test_every_request_is_counted_by_service(measured):
    before, made, after = measured
    for label, number in made.items():
        assert increase(before, after, HTTP_REQUESTS, service=label) == number, label
    # submitted, run, polled, fetched, deleted: at least four requests to TAP's UWS endpoint
    assert increase(before, after, HTTP_REQUESTS, service="tap_async") >= 4


def test_latencies_are_observed_for_each_request(measured):
    before, made, after = measured
    for label, number in made.items():
        assert increase(before, after, DURATION_COUNT, service=label) == number, label
        assert increase(before, after, "heobs_http_request_duration_seconds_sum", service=label) > 0
        # every observation lies in the +Inf bucket, so its count equals the histogram's
        assert increase(before, after, "heobs_http_request_duration_seconds_bucket", service=label,
                        le="+Inf") == number


def test_errors_are_counted_by_kind(measured):
    before, _, after = measured
    # the bad ADQL: status 200, but an error document
    assert increase(before, after, "heobs_http_errors_total", service="tap_sync", kind="vo_error") == 1
    assert increase(before, after, HTTP_REQUESTS, service="tap_sync", status="200") == 2
    # the unknown ID
    assert increase(before, after, "heobs_http_errors_total", service="datalink_files", kind="client") == 1
    assert increase(before, after, "heobs_http_errors_total", service="scs") == 0


def test_cone_search_errors_are_vo_errors(service):
    before = scrape(service.url)
    response = get(service, "/hess_dr1/q/cone/scs.xml", RA=83.63, DEC=22.01, SR=-1)
    assert response.status_code == 200 and "Error" in response.text
    after = scrape_until(service.url, lambda s: increase(before, s, HTTP_REQUESTS, service="scs") >= 1)
    assert increase(before, after, "heobs_http_errors_total", service="scs", kind="vo_error") == 1


def test_product_cache_hits_and_misses(service, measured):
    before, _, after = measured
    files = increase(before, after, "heobs_product_cache_requests_total", service="datalink_files")
    assert files == 2  # the unknown ID built nothing and sent nothing
    assert increase(before, after, "heobs_product_cache_requests_total", service="datalink_files",
                    result="hit") >= 1
    assert increase(before, after, "heobs_product_cache_requests_total", service="bundle") == 1
    assert value(after, "heobs_product_cache_limit_bytes") == service.instance.product_cache_bytes
    # measured at most every 10 s: the files built above show up in a later scrape
    later = scrape_until(service.url, lambda s: value(s, "heobs_product_cache_bytes") > 0)
    assert value(later, "heobs_product_cache_bytes") > 0


def test_database_connections_by_role(service, measured):
    _, _, after = measured
    assert value(after, "heobs_database_up") == 1
    roles = {dict(labels)["role"] for name, labels in after if name == "heobs_database_connections"}
    # the DaCHS processes' pools, one role each: the connections DaCHS keeps open for its
    # requests are the trusted role's
    assert service.instance.role("trusted") in roles
    assert roles <= {service.instance.role(p) for p in ("admin", "trusted", "untrusted")}, roles
    assert total(after, "heobs_database_connections") >= 1
    assert value(after, "heobs_database_connections_max") >= 1


def test_the_ingest_counters_appear(service):
    """The session's ingest published H.E.S.S. and CTA 1DC; one more run finds everything
    unchanged. The ingest is a process of its own: its totals reach the exporter through the
    instance's state."""
    before = scrape(service.url)
    assert value(before, "heobs_ingest_datasets_total", collection="hess_dr1", outcome="added") >= 105
    inst = Instance(service.instance.name, port=service.instance.port,
                    collections_file=service.collections_file)
    [summary] = inst.prepare(["hess_dr1"]).values()
    after = scrape(service.url)
    unchanged = summary.counts["unchanged"]
    assert unchanged >= 105
    assert increase(before, after, "heobs_ingest_datasets_total", collection="hess_dr1",
                    outcome="unchanged") == unchanged
    assert increase(before, after, "heobs_ingest_runs_total", collection="hess_dr1", result="ok") == 1
    assert increase(before, after, "heobs_ingest_duration_seconds_count", collection="hess_dr1") == 1
    assert value(after, "heobs_ingest_last_duration_seconds", collection="hess_dr1") > 0
    assert value(after, "heobs_ingest_last_finished_timestamp_seconds", collection="hess_dr1") \
        > time.time() - 3600


def test_access_log_lines_are_json_with_every_field(service, measured):
    path = server.access_log_path(service.instance.root, service.instance.port)
    with open(path, encoding="utf-8") as f:
        entries = [json.loads(line) for line in f]
    assert entries and all(set(entry) == set(access_log.FIELDS) for entry in entries)
    [form] = [e for e in entries if e["uri"] == "/search/q/q/form"][-1:]
    assert (form["method"], form["status"], form["service"], form["scheme"]) == \
        ("GET", 200, "web_form", "http")
    assert isinstance(form["request_time"], float) and form["bytes_sent"] > 0
    assert form["upstream"].startswith("127.0.0.1:")
    bad = [e for e in entries if e["service"] == "tap_sync" and e["vo_error"]]
    assert bad and bad[-1]["vo_error"] == "ERROR"
    files = [e for e in entries if e["service"] == "datalink_files" and e["status"] == 200]
    assert {e["cache"] for e in files} <= {"hit", "miss"} and files[-1]["cache"] == "hit"
    query = urllib.parse.quote(DID, safe="")
    assert any(query in e["uri"] for e in files)


def test_the_front_keeps_the_private_headers(service):
    response = get(service, "/hess_dr1/q/dl/dlget", ID=DID, PART="aeff")
    assert response.status_code == 200
    assert not {"x-heobs-cache", "x-heobs-vo-error"} & {h.lower() for h in response.headers}


# ---- health, on a server of its own (the session's stays as it is)


@pytest.fixture
def own_server(service):
    inst = Instance(service.instance.name, port=server.free_port(),
                    collections_file=service.collections_file)
    servers = inst.start()
    yield inst, servers
    stop_process(servers)


def health(port):
    response = requests.get(f"http://127.0.0.1:{port}/health", timeout=60)
    return response.status_code, response.json()


def test_health_is_200_then_503_when_a_dachs_process_stops(own_server):
    inst, servers = own_server
    status, document = health(inst.port)
    assert status == 200 and document["status"] == "ok", document
    checks = {check["check"] for check in document["checks"]}
    assert {"front", "database"} | {f"dachs:{p}" for p in servers.dachs_ports} == checks
    stopped = servers.dachs_ports[-1]
    os.kill(servers.dachs_pids[-1], signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and health(inst.port)[0] == 200:
        time.sleep(0.5)
    status, document = health(inst.port)
    assert status == 503 and document["status"] == "failing", document
    [failed] = [c for c in document["checks"] if not c["ok"]]
    assert failed["check"] == f"dachs:{stopped}" and "refused" in failed["detail"].lower(), failed
