# The HE-ObsCore VO service for Cherenkov (IACT) DL3 data.  `make` lists the targets.
#
#   make serve [PORT=8080] [DATA=<dir>]   install what is missing, ingest, serve TAP in the foreground
#   make serve ROLE=<role> [HOST=<name>]  one role of a cluster of hosts (README, "Several hosts")
#   make test                             the same set-up, then every test against an isolated instance
#   make ingest [COLLECTION=<name>]       publish what changed in the data, say what happened
#   make check-data DATA=<dir>            validate a GADF directory, without any database
#   make backup [OUT=<file>]              one archive of the service: database, users, configuration
#   make restore FROM=<archive>           the archive's service on this machine, without ingesting
#
# Variables: PORT (default: etc/site.yaml), DATA (data directory of the default collection,
# default: etc/collections.yaml), INSTANCE (serve, ingest, rd, backup: default serve; restore:
# the archive's), PYTEST_ARGS (extra pytest arguments).

SHELL := /bin/bash
PY := /usr/bin/python3
VENV := .venv
# gammapy 2.1 from PyPI needs numpy 2: it gets a virtualenv of its own, apart from Debian's Python
# (DaCHS breaks if numpy 2 is where it can see it). The processing service runs its analyses with it.
GAMMAPY_VENV := .venv-gammapy
PORT ?=
DATA ?=
COLLECTION ?=
# A cluster of hosts (etc/site.yaml's cluster:): the role this host plays, and its name
ROLE ?=
HOST ?=
STRICT ?=
PREBUILD ?=
PYTEST_ARGS ?=
INSTANCE ?=
FROM ?=
FORCE ?=
OUT ?=
# --install-only: install packages and virtualenvs, leave PostgreSQL stopped (bin/debian13)
SETUP_ARGS ?=
INSTANCE_ARGS := $(if $(INSTANCE),--instance $(INSTANCE)) $(if $(PORT),--port $(PORT)) $(if $(DATA),--data $(DATA))

.DEFAULT_GOAL := help
.PHONY: help setup serve ingest drop check-data rd backup restore test unit clean test-debian13 serve-debian13

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

setup: $(VENV)/.installed $(GAMMAPY_VENV)/.installed  ## install system packages, start PostgreSQL, make the test virtualenvs
	@bin/setup-system $(SETUP_ARGS)

$(VENV)/.installed: pyproject.toml
	@bin/setup-system $(SETUP_ARGS)
	$(PY) -m venv --system-site-packages $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

$(GAMMAPY_VENV)/.installed: processing/gammapy-requirements.txt
	@bin/setup-system $(SETUP_ARGS)
	$(PY) -m venv $(GAMMAPY_VENV)
	$(GAMMAPY_VENV)/bin/pip install --quiet --disable-pip-version-check -r processing/gammapy-requirements.txt
	@touch $@

serve: setup  ## ingest the collections (if changed) and serve TAP on localhost in the foreground; on a cluster ROLE=primary|replica|service|balancer [HOST=<name>]
	$(PY) -m instance $(if $(ROLE),cluster $(ROLE) $(if $(HOST),--host $(HOST)),serve) $(INSTANCE_ARGS)

ingest: setup  ## publish what changed in COLLECTION (default: all); STRICT=1: all or nothing; PREBUILD=1: build the DataLink files now
	$(PY) -m instance ingest $(INSTANCE_ARGS) $(if $(COLLECTION),--collection $(COLLECTION)) $(if $(STRICT),--strict) $(if $(PREBUILD),--prebuild)

drop: setup  ## withdraw the whole collection COLLECTION=<name> from the serve instance
	$(PY) -m instance drop --collection $(COLLECTION)

check-data:  ## validate a GADF directory DATA=<dir> [COLLECTION=<name>] without touching any database
	$(PY) -m ingest check --data $(or $(DATA),$(error DATA=<directory holding hdu-index.fits.gz> is needed)) $(if $(COLLECTION),--collection $(COLLECTION))

rd: ## render the RDs and DaCHS configuration of the serve instance into var/serve
	$(PY) -m instance rds $(INSTANCE_ARGS)

backup: setup  ## write one archive of INSTANCE (database, users and groups, configuration) [OUT=file.tar; PORT, DATA as served]
	$(PY) -m instance backup $(INSTANCE_ARGS) $(if $(OUT),--out $(OUT))

restore: setup  ## make the service of archive FROM=<file> here, without ingesting [INSTANCE=, PORT=, DATA=; FORCE=1 replaces it]
	$(PY) -m instance restore --from $(or $(FROM),$(error FROM=<backup archive> is needed)) $(INSTANCE_ARGS) $(if $(FORCE),--force)

test: setup  ## run every test (unit, live DaCHS instance, validators) on an isolated instance
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

unit: setup  ## run only the tests that need neither DaCHS nor PostgreSQL
	$(VENV)/bin/python -m pytest tests/unit $(PYTEST_ARGS)

test-debian13:  ## make test on a fresh Debian 13 root (debootstrap, cached in var/debian13), network-isolated
	bin/debian13 test

serve-debian13:  ## make serve on that Debian 13 root (`bin/debian13 shell` opens a shell beside it)
	bin/debian13 serve

clean:  ## drop the serve instance (database, roles, var/serve)
	$(PY) -m instance destroy

# Synthetic CTAO-like GADF collections for benchmarks (synth/): `make synth N=10000 SEED=1`, or
# `make synth N=1000000 METADATA_ONLY=1` for indexes without event files. Same N and SEED, same bytes.
N ?= 1000
SEED ?= 1
SITES ?=
comma := ,
SYNTH_OUT = $(or $(OUT),var/synth/$(N)-$(SEED)$(if $(METADATA_ONLY),-meta)$(if $(SITES),-$(subst $(comma),-,$(SITES))))
.PHONY: synth

synth:  ## write a synthetic GADF collection (N=1000 SEED=1 OUT=var/synth/N-SEED [METADATA_ONLY=1] [SITES=north])
	$(PY) -m synth --out $(SYNTH_OUT) --n $(N) --seed $(SEED) $(if $(METADATA_ONLY),--metadata-only) $(if $(SITES),--sites $(SITES))

# Benchmarks at CTAO scale (bench/): ingest, discovery at N..100 N, download, concurrency; writes
# BENCHMARKS.md. Run by the test virtualenv's Python (Debian's, plus requests), which sees DaCHS.
BENCH_ARGS ?=
.PHONY: bench

bench: setup  ## run every benchmark (~30 min) and write BENCHMARKS.md [BENCH_ARGS='--smoke']
	$(VENV)/bin/python -m bench $(BENCH_ARGS)
