"""The benchmarks (bench/, `make bench`) run and produce numbers: a smoke run of each, so that they
cannot rot. It checks that every benchmark yields finite, positive values, not how fast anything is
(that is BENCHMARKS.md's job, on a full run).

The smoke run uses its own DaCHS instance (var/bench_smoke_<pid>, its own database and port),
isolated from the session's `service` instance, and destroys it at the end.
"""

import math
import os

import pytest

from bench import __main__ as bench_main

BENCHMARKS = {"ingest", "discovery", "time", "download", "concurrency", "files"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "BENCHMARKS.md"
    args = bench_main.parse_args(["--smoke", "--name", f"bench_smoke_{os.getpid()}", "--out", str(out)])
    rows = bench_main.run(args)
    return rows, out, args.name


def test_every_benchmark_produces_rows(smoke):
    rows, _, _ = smoke
    assert {r["benchmark"] for r in rows} == BENCHMARKS


def test_every_value_is_a_finite_positive_number(smoke):
    rows, _, _ = smoke
    for r in rows:
        for key in ("value", "value2"):
            value = r.get(key)
            if value is None:
                continue
            assert isinstance(value, (int, float)) and math.isfinite(value), (r["metric"], value)
            if r["metric"] == "errors":
                assert value >= 0
            else:
                assert value > 0, (r["metric"], value)


def test_targets_are_judged(smoke):
    """Each benchmark states at least one target and whether it was met (not that it was)."""
    rows, _, _ = smoke
    for name in BENCHMARKS:
        judged = [r for r in rows if r["benchmark"] == name and "met" in r]
        assert judged, name
        assert all(isinstance(r["met"], bool) and r.get("target") for r in judged)


def test_report_is_written(smoke):
    _, out, _ = smoke
    text = out.read_text(encoding="utf-8")
    assert "| benchmark | measure | value |" in text
    assert "Machine:" in text and "python3 -m bench --smoke" in text
    assert "## Query plans at the largest size" in text and "Index" in text  # EXPLAIN output


def test_instance_is_removed(smoke):
    from instance import PROJECT_ROOT, Database
    _, _, name = smoke
    assert not os.path.exists(os.path.join(PROJECT_ROOT, "var", name))
    assert not Database(f"heobs_{name}").exists()
