"""monitoring/ without a server: the services of request paths, the access log's format and
following it, the request metrics of log lines, the ingest totals."""

import json
import os
import re

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client import generate_latest

from monitoring import access_log, ingest_counters, metrics, services


def service_of(uri):
    """As nginx's map does it: the first pattern that matches, else OTHER."""
    return next((label for label, pattern in services.SERVICES if re.search(pattern, uri)),
                services.OTHER)


@pytest.mark.parametrize("uri, label", [
    ("/tap/sync?LANG=ADQL&QUERY=SELECT", "tap_sync"),
    ("/__system__/tap/run/sync", "tap_sync"),
    ("/tap/async/abc123/phase", "tap_async"),
    ("/__system__/tap/run/async", "tap_async"),
    ("/tap/capabilities", "other"),
    ("/hess_dr1/q/cone/scs.xml?RA=1&DEC=2&SR=3", "scs"),
    ("/hess_dr1/q/dl/dlmeta?ID=ivo%3A%2F%2Fx", "datalink_links"),
    ("/links/q/dl/dlmeta?ID=a&ID=b", "datalink_links"),
    ("/hess_dr1/q/dl/dlget?ID=x&PART=aeff", "datalink_files"),
    ("/bundle/q/dl/dlget?ID=x", "bundle"),
    ("/derived/q/proc/async/job1", "processing"),
    ("/derived/q/dl/dlget?ID=x", "datalink_files"),
    ("/search/q/q/form?target=Crab", "web_form"),
    ("/metrics", "monitoring"), ("/health", "monitoring"), ("/healthy", "other"),
    ("/oai.xml?verb=Identify", "other"),
])
def test_services_of_paths(uri, label):
    assert service_of(uri) == label


def test_the_log_format_writes_every_field():
    directive = access_log.nginx_log_format()
    assert directive.startswith(f"log_format {access_log.FORMAT_NAME} escape=json '{{")
    for name, (variable, number) in access_log.FIELDS.items():
        assert (f'"{name}":{variable}' if number else f'"{name}":"{variable}"') in directive


def entry(**values):
    fields = dict.fromkeys(access_log.FIELDS, "")
    fields.update(status=200, request_time=0.01, bytes_sent=100, request_length=50,
                  service="tap_sync")
    fields.update(values)
    return json.dumps(fields)


def test_parse():
    assert access_log.parse(entry())["status"] == 200
    assert access_log.parse('{"status": 200}') is None  # not every field
    assert access_log.parse('{"time":"2026-') is None  # a partial line
    assert access_log.parse("[1, 2]") is None


def test_follower_reads_what_is_appended_across_rotations(tmp_path):
    path = tmp_path / "access.log"
    path.write_text("old line\n")
    follower = access_log.Follower(str(path))
    assert follower.lines() == []  # starts at the end
    with open(path, "a") as f:
        f.write("one\ntw")
    assert follower.lines() == ["one"]
    with open(path, "a") as f:
        f.write("o\n")
    assert follower.lines() == ["two"]
    os.rename(path, tmp_path / "access.log.1")  # rotated: nginx writes a new file once told
    with open(tmp_path / "access.log.1", "a") as f:
        f.write("last of the old\n")
    path.write_text("first of the new\n")
    assert follower.lines() == ["last of the old"]
    assert follower.lines() == ["first of the new"]
    path.write_text("")  # truncated
    assert follower.lines() == []
    with open(path, "a") as f:
        f.write("after truncation\n")
    assert follower.lines() == ["after truncation"]


def test_follower_of_a_file_made_later(tmp_path):
    follower = access_log.Follower(str(tmp_path / "access.log"))
    assert follower.lines() == []
    (tmp_path / "access.log").write_text("a\nb\n")
    assert follower.lines() == ["a", "b"]


def samples(registry):
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(generate_latest(registry).decode())
            for s in family.samples}


def test_request_metrics_of_log_lines():
    registry = CollectorRegistry()
    requests = metrics.RequestMetrics(registry)
    for line in (entry(), entry(vo_error="ERROR"), entry(status=500, request_time=2.0),
                 entry(service="datalink_files", status=404),
                 entry(service="datalink_files", cache="miss", bytes_sent=1000),
                 entry(service="datalink_files", cache="hit"), "garbage"):
        requests.observe(access_log.parse(line))
    found = samples(registry)

    def get(name, **labels):
        return found.get((name, frozenset(labels.items())), 0)

    assert get("heobs_http_requests_total", service="tap_sync", status="200") == 2
    assert get("heobs_http_requests_total", service="tap_sync", status="500") == 1
    assert get("heobs_http_errors_total", service="tap_sync", kind="vo_error") == 1
    assert get("heobs_http_errors_total", service="tap_sync", kind="server") == 1
    assert get("heobs_http_errors_total", service="datalink_files", kind="client") == 1
    assert get("heobs_http_request_duration_seconds_count", service="tap_sync") == 3
    assert get("heobs_http_request_duration_seconds_bucket", service="tap_sync", le="0.01") == 2
    assert get("heobs_http_request_duration_seconds_sum", service="tap_sync") == pytest.approx(2.02)
    assert get("heobs_http_response_bytes_total", service="datalink_files") == 1200
    assert get("heobs_product_cache_requests_total", service="datalink_files", result="miss") == 1
    assert get("heobs_product_cache_requests_total", service="datalink_files", result="hit") == 1
    assert get("heobs_access_log_unreadable_lines_total") == 1


def test_ingest_totals_add_up(tmp_path):
    state = str(tmp_path / "state")
    assert ingest_counters.read(state) == {}
    ingest_counters.record(state, "hess_dr1", {"added": 105, "rejected": 0}, 30.0, now=1000.0)
    ingest_counters.record(state, "hess_dr1", {"unchanged": 105}, 2.0, now=2000.0)
    ingest_counters.record(state, "cta_1dc", {}, 0.5, failed=True)
    registry = CollectorRegistry()
    registry.register(metrics.IngestCollector(state))
    found = samples(registry)
    assert found[("heobs_ingest_datasets_total", frozenset({"collection": "hess_dr1", "outcome": "added"}.items()))] == 105
    assert found[("heobs_ingest_datasets_total", frozenset({"collection": "hess_dr1", "outcome": "unchanged"}.items()))] == 105
    assert found[("heobs_ingest_runs_total", frozenset({"collection": "hess_dr1", "result": "ok"}.items()))] == 2
    assert found[("heobs_ingest_runs_total", frozenset({"collection": "cta_1dc", "result": "failed"}.items()))] == 1
    assert found[("heobs_ingest_duration_seconds_sum", frozenset({"collection": "hess_dr1"}.items()))] == 32.0
    assert found[("heobs_ingest_duration_seconds_count", frozenset({"collection": "hess_dr1"}.items()))] == 2
    assert found[("heobs_ingest_last_duration_seconds", frozenset({"collection": "hess_dr1"}.items()))] == 2.0
    assert found[("heobs_ingest_last_finished_timestamp_seconds", frozenset({"collection": "hess_dr1"}.items()))] == 2000.0
