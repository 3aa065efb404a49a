"""The exporter of one server (`python3 -m monitoring ...`, started by instance/server.py with
the DaCHS processes and nginx): follows nginx's access log into the request metrics, and serves
on 127.0.0.1:<port>, which nginx proxies at /metrics and /health:

- /metrics: Prometheus's text format (prometheus_client), metrics.py's metrics;
- /health: 200 and a JSON document of the checks when the host may take requests, 503 with the
  same document, naming what failed, when it may not (health.py).
"""

import argparse
import json
import socketserver
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from monitoring import access_log, health, metrics


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m monitoring", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="where to serve (127.0.0.1)")
    parser.add_argument("--access-log", required=True, help="nginx's JSON access log")
    parser.add_argument("--front", required=True, metavar="ADDRESS:PORT",
                        help="where nginx listens (the instance's port)")
    parser.add_argument("--backend", type=int, action="append", default=[], metavar="PORT",
                        help="the port of a DaCHS process (repeated)")
    parser.add_argument("--dbname", required=True, help="the instance's database")
    parser.add_argument("--db-port", type=int, required=True, help="PostgreSQL's port")
    parser.add_argument("--state-dir", required=True, help="the instance's state directory")
    parser.add_argument("--cache-dir", required=True, help="the product cache")
    parser.add_argument("--cache-limit", type=int, required=True, help="its size limit, bytes")
    return parser.parse_args(argv)


class Exporter:
    def __init__(self, args):
        self.args = args
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = metrics.RequestMetrics(self.registry)
        self.registry.register(metrics.ProductCacheCollector(args.cache_dir, args.cache_limit))
        self.registry.register(metrics.IngestCollector(args.state_dir))
        self.registry.register(metrics.DatabaseCollector(args.dbname, args.db_port))
        self.metrics_app = make_wsgi_app(self.registry)
        address, _, port = args.front.rpartition(":")
        self.front = (address.strip("[]"), int(port))

    def handle_line(self, line):
        self.requests.observe(access_log.parse(line))

    def app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return self.metrics_app(environ, start_response)
        if path == "/health":
            return self.health(start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Only /metrics and /health are served here.\n"]

    def health(self, start_response):
        ok, results = health.health(self.front, self.args.backend, self.args.dbname,
                                    self.args.db_port)
        document = {"status": "ok" if ok else "failing",
                    "checks": [{"check": name, "ok": passed, "detail": detail}
                               for name, passed, detail in results]}
        start_response("200 OK" if ok else "503 Service Unavailable",
                       [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
        return [json.dumps(document, indent=1).encode() + b"\n"]


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    """One thread per request: a slow health check does not hold up a scrape."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        """nginx logs the requests (they come through it); nothing on stderr per request."""


def main(argv=None):
    args = parse_args(argv)
    exporter = Exporter(args)
    follower = access_log.Follower(args.access_log)
    threading.Thread(target=follower.follow, args=(exporter.handle_line,), daemon=True,
                     name="access-log").start()
    server = make_server("127.0.0.1", args.port, exporter.app, server_class=_Server,
                         handler_class=_QuietHandler)
    print(f"[monitoring] serving /metrics and /health on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()
