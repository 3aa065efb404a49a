"""Benchmarks of the service at CTAO scale: ingest, discovery, download, concurrency.

    python3 -m bench [--smoke] [--n 10000] [--out BENCHMARKS.md]      (or `make bench`)

Every benchmark measures the service against a baseline measured in the same run on the same
machine (astropy alone, PostgreSQL directly, tar), because the machines are shared and noisy:
the ratios are what is compared with the targets, absolute numbers are given for context.

Modules: timing (medians, spread, percentiles), archive (the bench DaCHS instance and its
synthetic collection, and growing it in SQL), ingest, discovery, download, concurrency (one
benchmark each, each returning rows of the table), report (the table and BENCHMARKS.md).
"""
