"""Every metric the exporter serves: its name, help text and labels, and what fills it. The
README's table of metrics is this module.

Request metrics come from nginx's access log (access_log.py), one observation per line, labelled
by service (services.py). The others are read when Prometheus scrapes: the product cache's size,
the ingest totals (ingest_counters.py), and the database connections from PostgreSQL's own
pg_stat_activity (the DaCHS processes' pools are per role: _admin, _trusted, _untrusted).
"""

import time

import psycopg2
from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

from datalink.cache import size_on_disk
from monitoring import ingest_counters
from monitoring.services import OTHER

# Seconds: DataLink answers in milliseconds, TAP in tens of them; sync TAP may take up to its
# timeout (etc/site.yaml, 60 s), bundles and async job results minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
                   float("inf"))
# Seconds: the product cache's size is measured (a walk of its directories, as its own eviction
# does) at most this often.
CACHE_SIZE_INTERVAL = 10


def error_kind(entry):
    """None, or what kind of error a logged request is: `server` (HTTP 5xx), `client` (4xx), or
    `vo_error` (an error document with status 200, as DALI and SCS have them)."""
    status = entry["status"]
    if status >= 500:
        return "server"
    if status >= 400:
        return "client"
    return "vo_error" if entry["vo_error"] else None


class RequestMetrics:
    """The metrics of the requests nginx logged."""

    def __init__(self, registry):
        self.requests = Counter(
            "heobs_http_requests", "Requests answered, by service and HTTP status.",
            ["service", "status"], registry=registry)
        self.errors = Counter(
            "heobs_http_errors", "Requests answered with an error, by service and kind: server"
            " (HTTP 5xx), client (4xx), vo_error (a VO error document with status 200).",
            ["service", "kind"], registry=registry)
        self.duration = Histogram(
            "heobs_http_request_duration_seconds", "Time from the request's first byte to the"
            " response's last (nginx's request_time), by service.",
            ["service"], buckets=LATENCY_BUCKETS, registry=registry)
        self.sent = Counter(
            "heobs_http_response_bytes", "Bytes sent to clients, by service.",
            ["service"], registry=registry)
        self.cache = Counter(
            "heobs_product_cache_requests", "Downloads of built files (DataLink files, bundles)"
            " by whether everything was in the product cache (hit) or had to be built (miss).",
            ["service", "result"], registry=registry)
        self.unreadable = Counter(
            "heobs_access_log_unreadable_lines", "Access log lines that were not the expected"
            " JSON (none, unless the log format and the exporter disagree).", registry=registry)

    def observe(self, entry):
        """Counts one access log entry (access_log.parse), or an unreadable line (None)."""
        if entry is None:
            self.unreadable.inc()
            return
        service = entry["service"] or OTHER
        self.requests.labels(service, str(entry["status"])).inc()
        self.duration.labels(service).observe(entry["request_time"])
        self.sent.labels(service).inc(entry["bytes_sent"])
        kind = error_kind(entry)
        if kind:
            self.errors.labels(service, kind).inc()
        if entry["cache"] in ("hit", "miss"):
            self.cache.labels(service, entry["cache"]).inc()


class ProductCacheCollector:
    """The product cache's size on disk and its limit (etc/site.yaml's product_cache_gb)."""

    def __init__(self, root, limit_bytes):
        self.root, self.limit = root, limit_bytes
        self.size, self.measured = None, None

    def collect(self):
        # Measuring walks the cache's directories: at most once a CACHE_SIZE_INTERVAL.
        if self.measured is None or time.monotonic() - self.measured > CACHE_SIZE_INTERVAL:
            self.size, self.measured = size_on_disk(self.root), time.monotonic()
        yield GaugeMetricFamily("heobs_product_cache_bytes", "Bytes the built DataLink files take"
                                " on disk (measured at most every 10 s).", value=self.size)
        yield GaugeMetricFamily("heobs_product_cache_limit_bytes", "The product cache's size"
                                " limit, beyond which the least recently used files are removed.",
                                value=self.limit)


class IngestCollector:
    """The ingest totals the ingests kept in the instance's state (ingest_counters.py)."""

    def __init__(self, state_dir):
        self.state_dir = state_dir

    def collect(self):
        datasets = CounterMetricFamily(
            "heobs_ingest_datasets", "Datasets the ingests handled, by collection and outcome"
            " (added, updated, unchanged, withdrawn, rejected).", labels=["collection", "outcome"])
        runs = CounterMetricFamily("heobs_ingest_runs", "Ingest runs, by collection and whether"
                                   " the collection could be read at all.",
                                   labels=["collection", "result"])
        duration = SummaryMetricFamily("heobs_ingest_duration_seconds", "Wall time of the ingest"
                                       " runs, by collection.", labels=["collection"])
        last = GaugeMetricFamily("heobs_ingest_last_duration_seconds", "Wall time of the latest"
                                 " ingest run, by collection.", labels=["collection"])
        finished = GaugeMetricFamily("heobs_ingest_last_finished_timestamp_seconds", "When the"
                                     " latest ingest run ended (Unix time), by collection.",
                                     labels=["collection"])
        for name, totals in sorted(ingest_counters.read(self.state_dir).items()):
            for outcome, number in sorted(totals["datasets"].items()):
                datasets.add_metric([name, outcome], number)
            runs.add_metric([name, "ok"], totals["runs"] - totals["failed_runs"])
            runs.add_metric([name, "failed"], totals["failed_runs"])
            duration.add_metric([name], count_value=totals["runs"], sum_value=totals["seconds"])
            last.add_metric([name], totals["last_seconds"])
            finished.add_metric([name], totals["last_finished"])
        yield from (datasets, runs, duration, last, finished)


class DatabaseCollector:
    """Connections to the instance's database, by role and state, from pg_stat_activity (a new
    connection at each scrape, so that a restarted PostgreSQL is seen as it is)."""

    def __init__(self, dbname, port):
        self.dbname, self.port = dbname, port

    def collect(self):
        up = GaugeMetricFamily("heobs_database_up", "1 if the exporter could read the instance's"
                               " database connections, 0 if not.")
        connections = GaugeMetricFamily(
            "heobs_database_connections", "Connections to the instance's database, by role (the"
            " DaCHS processes' pools: _admin, _trusted, _untrusted) and state (active, idle,"
            " ...), the exporter's own left out.", labels=["role", "state"])
        limit = GaugeMetricFamily("heobs_database_connections_max", "PostgreSQL's"
                                  " max_connections, for the whole cluster.")
        try:
            rows, maximum = self._read()
        except psycopg2.Error:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for role, state, number in rows:
            connections.add_metric([role or "", state or "unknown"], number)
        limit.add_metric([], maximum)
        yield from (up, connections, limit)

    def _read(self):
        with psycopg2.connect(dbname=self.dbname, port=self.port, connect_timeout=5,
                              application_name="heobs-exporter") as conn:
            with conn.cursor() as cursor:
                cursor.execute("SELECT usename, state, count(*) FROM pg_stat_activity"
                               " WHERE datname = %s AND pid != pg_backend_pid()"
                               " GROUP BY usename, state ORDER BY 1, 2", (self.dbname,))
                rows = cursor.fetchall()
                cursor.execute("SHOW max_connections")
                maximum = int(cursor.fetchone()[0])
        conn.close()
        return rows, maximum
