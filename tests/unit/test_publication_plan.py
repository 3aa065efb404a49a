"""instance/publication.py: which observations a run reads, keeps and withdraws (no database)."""

import os
from types import SimpleNamespace

from ingest.hdu_index import HduIndex, HduIndexEntry
from instance import publication


def reader_of(directory, obs_ids):
    """A CollectionReader stand-in: one file per observation, no obs-index."""
    entries = []
    for obs_id in obs_ids:
        path = os.path.join(directory, f"obs_{obs_id}.fits")
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(obs_id.encode())
        entries.append(HduIndexEntry(obs_id, "events", "events", path, "EVENTS"))
    index = HduIndex(os.path.join(directory, "hdu-index.fits.gz"), tuple(entries))
    return SimpleNamespace(hdu_index=index, obs_index=None, datasets=index.datasets)


def test_first_run_reads_everything(tmp_path):
    plan = publication.make_plan(reader_of(tmp_path, ["1", "2"]), {}, "base")
    assert plan.new == ["1", "2"] and not plan.changed and not plan.unchanged


def test_unchanged_files_are_not_read_again(tmp_path):
    reader = reader_of(tmp_path, ["1", "2"])
    published = publication.make_plan(reader, {}, "base").fingerprints
    plan = publication.make_plan(reader, published, "base")
    assert plan.unchanged == ["1", "2"] and not plan.to_read and not plan.withdrawn


def test_a_changed_file_a_new_and_a_gone_observation(tmp_path):
    published = publication.make_plan(reader_of(tmp_path, ["1", "2", "3"]), {}, "b").fingerprints
    with open(tmp_path / "obs_2.fits", "ab") as f:
        f.write(b"more")
    plan = publication.make_plan(reader_of(tmp_path, ["1", "2", "4"]), published, "b")
    assert (plan.unchanged, plan.changed, plan.new, plan.withdrawn) == (["1"], ["2"], ["4"], ["3"])


def test_new_configuration_or_code_rereads_everything(tmp_path):
    reader = reader_of(tmp_path, ["1"])
    published = publication.make_plan(reader, {}, "configuration A").fingerprints
    assert publication.make_plan(reader, published, "configuration B").changed == ["1"]


def test_code_version_is_stable():
    assert publication.code_version() == publication.code_version()


def test_parallel_reading_gives_the_sequential_results_in_order(hess_collection, site, monkeypatch):
    """Many observations are read by forked processes (read_results): same results, same order,
    rejections included (an ID the index does not have)."""
    from ingest.collection import CollectionReader
    reader = CollectionReader(hess_collection, site)
    obs_ids = reader.datasets()[:12] + ["99999999"]
    monkeypatch.setattr(publication, "PARALLEL_FROM", 1000)
    sequential = list(publication.read_results(reader, obs_ids))
    monkeypatch.setattr(publication, "PARALLEL_FROM", 2)
    monkeypatch.setattr(publication.os, "cpu_count", lambda: 2)
    parallel = list(publication.read_results(reader, obs_ids))
    assert [r.dataset for r in parallel] == [str(o) for o in obs_ids]
    assert [r.row for r in parallel] == [r.row for r in sequential]
    assert str(parallel[-1].error) == str(sequential[-1].error) and not parallel[-1].ok
