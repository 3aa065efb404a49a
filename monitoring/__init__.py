"""What a service host says about itself: the structured access log nginx writes, the metrics
made from it and from the instance's state (Prometheus, with prometheus_client), and the health
a balancer asks for. Plain Python: nothing here imports DaCHS.

- services.py: which service a request is for, by its URL path (the label of the request metrics);
- access_log.py: the fields of nginx's JSON access log, and following the file as it grows;
- metrics.py: every metric (name, help, labels) and how a log line or the state fills it;
- ingest_counters.py: what each ingest did, kept in the instance's state for the exporter;
- health.py: the checks behind /health;
- exporter.py: the process that serves /metrics and /health (`python3 -m monitoring`), one per
  server, started and stopped with the DaCHS processes and nginx (instance/server.py).
"""
