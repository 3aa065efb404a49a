"""Publishing one collection incrementally, safely, and saying what happened.

A run:
1. reads the collection's indexes and takes each observation's fingerprint (its index rows, the
   names, sizes, modification times and inodes of its files, the collection's configuration, the
   ingest code) — no FITS data is read for this;
2. compares them with the fingerprints stored in the published rows (source_fingerprint): equal
   means unchanged and the observation is not read at all;
3. reads the new and changed observations (with progress), rejecting the bad ones with the
   ingest's message (file, HDU, keyword, what is wrong), and loads the good rows with PostgreSQL's
   COPY (ingest/staging.py) as they are read: the database inserts a row and updates its indexes
   while the next observations are read (a first ingest's GiST index of the footprints alone costs
   pgSphere 1.1 about a millisecond a row). All in one transaction that also replaces the changed
   rows and withdraws the observations gone from the hdu-index, so a failure leaves every published
   row as it was, and ivoa.obscore never loses the collection (`dachs imp` creates a new
   collection's table, DaCHS's metadata and its part of ivoa.obscore first, with no rows: DaCHS's
   row-by-row import took 3.5 ms a row, 35 s of the 125 s of a first ingest of 10^4 observations).
   Each dataset's GTIs and provenance (provenance/dl3.py: from what its headers say and from
   this run) go in with it, and go with it;
4. prints the summary: added, updated, unchanged, withdrawn, rejected with reasons.

In strict mode nothing is written if any observation is rejected.
"""

import contextlib
import datetime
import hashlib
import itertools
import multiprocessing
import os
import sys
import time
import tomllib
from dataclasses import dataclass, field

import psycopg2
from psycopg2 import sql

from ingest import collection as ingest_collection
from ingest import staging
from ingest.columns import collection_column_names
from ingest.datasets import key_of_did, publisher_did
from ingest.progress import Progress
from ingest.report import Summary
from instance.database import copy_in
from provenance import database as provenance_database
from provenance import dl3 as provenance_dl3
import schemas

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What the rows are computed by: a change here re-reads every observation.
CODE_SOURCES = ("ingest", "schemas", "provenance")


@dataclass
class Plan:
    """Which observations a run reads, keeps and withdraws."""

    fingerprints: dict  # dataset key -> fingerprint, for every dataset of the hdu-index (ingest/datasets.py)
    new: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    withdrawn: list = field(default_factory=list)  # published, no longer in the hdu-index

    @property
    def to_read(self):
        return self.new + self.changed


def code_version():
    """A hash of the ingest code and the column definitions."""
    h = hashlib.sha256()
    for package in CODE_SOURCES:
        directory = os.path.join(PROJECT_ROOT, package)
        for name in sorted(os.listdir(directory)):
            if name.endswith((".py", ".yaml")):
                with open(os.path.join(directory, name), "rb") as f:
                    h.update(name.encode() + b"\0" + f.read())
    return h.hexdigest()


def project_version():
    """The project's version and the hash of its ingest code: the ingest's version in the
    provenance of every dataset."""
    with open(os.path.join(PROJECT_ROOT, "pyproject.toml"), "rb") as f:
        version = tomllib.load(f)["project"]["version"]
    return f"{version} (code {code_version()[:12]})"


def utc_now():
    """The time now in UTC, as the database's timestamps hold it (naive)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def configuration_text(collection, site):
    """What of the configuration goes into the rows of a collection."""
    return repr((collection, site.authority))


def fingerprint_base(collection, site):
    """What every dataset's fingerprint of a collection starts from: its configuration and the
    ingest code."""
    return configuration_text(collection, site) + code_version()


def observation_fingerprint(reader, dataset, base):
    """The fingerprint of one dataset; base hashes the configuration and the code."""
    h = hashlib.sha256(base.encode())
    entries = reader.hdu_index.entries_for(dataset)
    obs_id = entries[0].obs_id if entries else dataset
    for entry in entries:
        h.update(repr(entry).encode())
    for path in sorted({entry.path for entry in entries}):
        try:
            st = os.stat(path)
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0".encode())
        except OSError:
            h.update(f"{path}\0missing\0".encode())
    if reader.obs_index is not None:
        h.update(repr(sorted(reader.obs_index.row(obs_id).items())).encode())
        h.update(repr(reader.obs_index.error_for(obs_id)).encode())
    return h.hexdigest()


def make_plan(reader, published, base):
    """The Plan of a run, given {dataset key: fingerprint} of the published rows."""
    fingerprints = {key: observation_fingerprint(reader, key, base) for key in reader.datasets()}
    plan = Plan(fingerprints)
    for key, fingerprint in fingerprints.items():
        if key not in published:
            plan.new.append(key)
        elif published[key] != fingerprint:
            plan.changed.append(key)
        else:
            plan.unchanged.append(key)
    plan.withdrawn = [key for key in published if key not in fingerprints]
    return plan


def read_results(reader, keys):
    """The ObservationResults of the datasets with these keys, in order. Reading is astropy parsing headers in Python,
    which keeps one core busy: with many observations, processes forked from this one (they
    inherit the indexes already read) share the reading, one per core."""
    processes = min(os.cpu_count() or 1, MAX_READ_PROCESSES)
    if processes < 2 or len(keys) < PARALLEL_FROM:
        for key in keys:
            yield reader.result(key)
        return
    global _reader
    _reader = reader
    try:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            yield from pool.imap(_read_one, keys, chunksize=16)
    finally:
        _reader = None


_reader = None  # the CollectionReader the forked reading processes use


def _read_one(key):
    return _reader.result(key)


def read_rows(reader, plan, summary, stream, gti_rows, provenance):
    """Yields (key, row) of the datasets to read, each row with its fingerprint, as they are read;
    gti_rows (a list) receives the rows of their GTI table, provenance (a Provenance) their
    provenance rows, summary the outcomes and rejections."""
    new = set(plan.new)
    with Progress(total=len(plan.to_read), stream=stream, label=f"reading {summary.name}") as bar:
        for key, result in zip(plan.to_read, read_results(reader, plan.to_read)):
            bar.advance()
            if not result.ok:
                bar.clear()
                summary.reject(key, result.error)
                continue
            row = dict(result.row)
            row["source_fingerprint"] = plan.fingerprints[key]
            gti_rows += [{"obs_publisher_did": row["obs_publisher_did"], "t_start": start, "t_stop": stop}
                         for start, stop in result.intervals]
            provenance.add(row, result.production, plan.fingerprints[key])
            summary.count("added" if key in new else "updated")
            yield key, row


class Provenance:
    """The provenance rows of the datasets a run reads (provenance/dl3.py), staged for COPY."""

    def __init__(self, collection, site):
        self.collection, self.site = collection, site
        self.run = provenance_dl3.IngestRun(
            started=utc_now(), version=project_version(),
            configuration_fingerprint=hashlib.sha256(
                configuration_text(collection, site).encode()).hexdigest())
        self.staged = provenance_database.Staged()

    def add(self, row, production, source_fingerprint):
        self.staged.add(provenance_dl3.dataset_records(
            row, production, self.run, self.collection, self.site, source_fingerprint, utc_now()))


# Reading in parallel pays once the processes' start is small against the reading (~10 ms per
# observation); beyond a few processes the import, not the reading, takes the time.
PARALLEL_FROM = 200
MAX_READ_PROCESSES = 4


class Publisher:
    """Publishes the collections of an instance (instance.Instance) in its database."""

    def __init__(self, inst, stream=None):
        self.inst = inst
        self.stream = stream or sys.stderr

    def published_fingerprints(self, collection):
        """{dataset key: fingerprint} of the collection's published rows."""
        if not self.inst.published([collection]):
            return {}
        return {key_of_did(did): fingerprint for did, fingerprint in self.inst.db.query(
            sql.SQL("SELECT obs_publisher_did, coalesce(source_fingerprint, '') FROM {}").format(
                sql.Identifier(collection.schema, "obs")))}

    def publish(self, collection, strict=False, prebuild=False):
        """Brings the collection's rows in line with its files; returns the Summary. prebuild
        (or the collection's prebuild key): also builds every published observation's DataLink
        files now, instead of at their first request."""
        summary = Summary(name=collection.name)
        reader = ingest_collection.CollectionReader(collection, self.inst.site)
        base = fingerprint_base(collection, self.inst.site)
        started = time.monotonic()
        plan = make_plan(reader, self.published_fingerprints(collection), base)
        summary.count("unchanged", len(plan.unchanged))
        summary.seconds["plan"] = time.monotonic() - started
        if plan.to_read or plan.withdrawn:
            self._load(collection, reader, plan, summary, strict)
        if strict and not summary.ok:
            summary.counts["unchanged"] += summary.counts["added"] + summary.counts["updated"]
            summary.counts["added"] = summary.counts["updated"] = 0
            self._say(summary.render())
            self._say("strict mode: nothing was published, because of the rejections above")
            return summary
        for key in plan.withdrawn:
            self._say(f"{collection.name}: withdrew observation {key} (no longer in the hdu-index)")
        if prebuild or collection.prebuild:
            started = time.monotonic()
            self._prebuild(collection, summary)
            summary.seconds["prebuild"] = time.monotonic() - started
        self._say(summary.render())
        return summary

    def failed(self, collection, reason):
        """The Summary of a collection that could not be read or published at all (said now)."""
        summary = Summary(name=collection.name)
        summary.fail(reason)
        self._say(summary.render())
        return summary

    def _prebuild(self, collection, summary):
        """Builds the DataLink files of every published observation that lacks them, and its
        provenance documents (those of a broken observation are left to its first request, which
        says what is wrong)."""
        from datalink.cache import ProductCache

        cache = ProductCache(self.inst.product_cache_dir, self.inst.product_cache_bytes)
        fingerprints = self.published_fingerprints(collection)
        cache.documentation(collection)
        connection = self.inst.db.connect()
        try:
            with Progress(total=len(fingerprints), stream=self.stream,
                          label=f"building files of {collection.name}") as bar:
                for key, fingerprint in fingerprints.items():
                    bar.advance()
                    did = publisher_did(self.inst.site.authority, collection.schema, key)
                    try:
                        cache.files(collection, key)
                        cache.provenance(collection.schema, key, fingerprint,
                                         lambda: _provenance_of(connection, collection.schema, did))
                    except Exception as exc:  # noqa: BLE001 (reported, and the others are built)
                        bar.clear()
                        self._say(f"{collection.name}: the files of observation {key} cannot be"
                                  f" built: {exc}")
        finally:
            connection.close()

    def _load(self, collection, reader, plan, summary, strict):
        """In one transaction: the rows of new datasets go into the collection's table as they are
        read (COPY, while the next ones are read: the database updates its indexes meanwhile); then
        the changed datasets' rows replace theirs (a changed dataset rejected now keeps its row as
        it was, untouched), the GTIs and provenance rows of all of them go into the GTI and
        provenance tables, and the withdrawn datasets' rows go from all. In strict mode every dataset is read first, and with any rejection
        nothing is written. A new collection's table is made by DaCHS first (see the module
        docstring)."""
        schema = collection.schema
        names = collection_column_names() + ["source_fingerprint"]
        gti_names = [c.name for c in schemas.columns_in("gti")]
        new, updated, gti_rows = set(plan.new), [], []
        provenance = Provenance(collection, self.inst.site)
        started = time.monotonic()

        def new_rows(rows):
            for key, row in rows:
                if key in new:
                    yield row
                else:
                    updated.append(row)

        rows = read_rows(reader, plan, summary, self.stream, gti_rows, provenance)
        if strict:
            rows = list(rows)
            if not summary.ok:
                return
        else:
            # The reading processes are forked now, before the transaction's connection is open:
            # they never hold a copy of it.
            first = next(rows, None)
            rows = itertools.chain([] if first is None else [first], rows)
        first = not self.inst.published([collection])
        if first:
            self._create_table(collection)
        try:
            with self.inst.db.transaction() as cursor:
                copy_in(cursor, schema, "obs", names, staging.CopyStream(new_rows(rows), names))
                summary.seconds["read"] = time.monotonic() - started
                replaced = [row["obs_publisher_did"] for row in updated] + self._dids(collection, plan.withdrawn)
                for table in ("obs", "gti"):
                    cursor.execute(sql.SQL("DELETE FROM {} WHERE obs_publisher_did = ANY(%s)").format(
                        sql.Identifier(schema, table)), (replaced,))
                provenance_database.delete(cursor, schema, replaced)
                copy_in(cursor, schema, "obs", names, staging.copy_text(updated, names))
                copy_in(cursor, schema, "gti", gti_names, staging.copy_text(gti_rows, gti_names))
                with (provenance_database.indexes_built_after(cursor, schema) if first
                      else contextlib.nullcontext()):
                    provenance.staged.copy(cursor, schema)
                for table in ("obs", "gti"):
                    cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(schema, table)))
                summary.count("withdrawn", len(plan.withdrawn))
        except psycopg2.Error as exc:
            raise PublicationError(f"{collection.name}: PostgreSQL refused the rows; nothing was changed."
                                   f"\n{exc}") from None
        summary.seconds["import"] = time.monotonic() - started - summary.seconds["read"]

    def _dids(self, collection, keys):
        return [publisher_did(self.inst.site.authority, collection.schema, key) for key in keys]

    def _create_table(self, collection):
        """`dachs imp` of no rows (dachs_ext/grammar.py reads the staged list): DaCHS creates the
        table, its metadata and its part of ivoa.obscore."""
        path = staging.staging_path(self.inst.root, collection.schema)
        staging.write_rows(path, [])
        try:
            result = self.inst.dachs("imp", self.inst.rds.rd_id(collection), check=False)
        finally:
            os.unlink(path)
        if result.returncode != 0:
            raise PublicationError(f"{collection.name}: DaCHS refused the import; nothing was"
                                   f" changed.\n{result.stdout[-2000:]}{result.stderr[-2000:]}")

    def _say(self, text):
        self.stream.write(text + "\n")
        self.stream.flush()


def _provenance_of(connection, schema, did):
    """(the provenance Records of a dataset, the entities they name but do not hold)."""
    with connection.cursor() as cursor:
        records = provenance_database.read(cursor, schema, did)
        return records, provenance_database.entities(cursor, records.named_entities())


class PublicationError(Exception):
    """DaCHS could not create the table, or PostgreSQL refused the rows (nothing was changed)."""

