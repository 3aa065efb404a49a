"""What the ingests of an instance did, added up: kept in its state directory by the ingest
(`make ingest`, `make serve`'s prepare: a process of its own) and read by the exporter at each
scrape. The totals survive restarts of either, so they are counters in Prometheus's sense.

var/<instance>/state/ingest-counters.json:
    {"collections": {"<name>": {"runs": 3, "failed_runs": 0, "seconds": 74.2,
                                "last_seconds": 3.1, "last_finished": 1767225600.0,
                                "datasets": {"added": 105, "updated": 0, ...}}}}
"""

import json
import os
import time

FILE_NAME = "ingest-counters.json"


def path(state_dir):
    return os.path.join(state_dir, FILE_NAME)


def read(state_dir):
    """{collection: totals}; empty before the first ingest (or if the file is unreadable)."""
    try:
        with open(path(state_dir), encoding="utf-8") as f:
            document = json.load(f)
        return document.get("collections", {})
    except (OSError, ValueError):
        return {}


def record(state_dir, collection, counts, seconds, failed=False, now=None):
    """Adds one run of the ingest of a collection: counts ({outcome: datasets}) and its wall
    time. The caller holds the instance's publish lock: one ingest at a time writes."""
    collections = read(state_dir)
    totals = collections.setdefault(collection, {"runs": 0, "failed_runs": 0, "seconds": 0.0,
                                                 "datasets": {}})
    totals["runs"] += 1
    totals["failed_runs"] += int(failed)
    totals["seconds"] += seconds
    totals["last_seconds"] = seconds
    totals["last_finished"] = time.time() if now is None else now
    for outcome, number in counts.items():
        totals["datasets"][outcome] = totals["datasets"].get(outcome, 0) + number
    os.makedirs(state_dir, exist_ok=True)
    temporary = path(state_dir) + ".part"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump({"collections": collections}, f, indent=1, sort_keys=True)
    os.replace(temporary, path(state_dir))
