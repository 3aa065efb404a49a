"""The product cache (datalink/cache.py): IRF parts shared by several observations are built once
and are the same bytes as built for each observation on its own."""

import os

import synth
from datalink import bundle, cache, parts, products
from datalink.observation import hdu_index_of, open_observation
from ingest.config import load_collections

N, SEED = 4, 3


def _collection(tmp_path):
    data_dir = tmp_path / "data"
    synth.generate(str(data_dir), N, SEED)
    path = tmp_path / "collections.yaml"
    path.write_text(f"""\
collections:
  synth:
    schema: synth
    obs_collection: SYNTH-CTAO
    data_dir: {data_dir}
    hdu_index: hdu-index.fits.gz
    obs_index: obs-index.fits.gz
    data_rights: public
""")
    return load_collections(str(path), str(tmp_path))["synth"]


def _irf_file(collection, obs_id):
    entries = hdu_index_of(collection).entries_for(obs_id)
    return next(e.path for e in entries if e.hdu_type == "aeff")


def test_shared_irfs_are_built_once_with_the_same_bytes(tmp_path):
    collection = _collection(tmp_path)
    obs_ids = hdu_index_of(collection).datasets()
    by_irf_file = {}
    for obs_id in obs_ids:
        by_irf_file.setdefault(_irf_file(collection, obs_id), []).append(obs_id)
    first, second = next(ids for ids in by_irf_file.values() if len(ids) > 1)[:2]
    product_cache = cache.ProductCache(str(tmp_path / "cache"))
    wanted = [parts.EVENT_LIST, parts.ALL_IRFS]
    a = product_cache.files(collection, first, wanted)
    b = product_cache.files(collection, second, wanted)
    assert a[parts.ALL_IRFS] != b[parts.ALL_IRFS]  # each observation keeps its own path
    assert os.path.samefile(a[parts.ALL_IRFS], b[parts.ALL_IRFS])
    with open_observation(collection, second) as obs:
        built = products.all_irfs(obs)
        events = products.event_list(obs)
    with open(b[parts.ALL_IRFS], "rb") as f:
        assert f.read() == built
    with open(b[parts.EVENT_LIST], "rb") as f:
        assert f.read() == events


def test_other_irf_files_are_other_products(tmp_path):
    collection = _collection(tmp_path)
    obs_ids = hdu_index_of(collection).datasets()
    keys = {cache.shared_key(parts.ALL_IRFS, hdu_index_of(collection).entries_for(o)): o
            for o in obs_ids}
    irf_files = {_irf_file(collection, o) for o in obs_ids}
    assert len(keys) == len(irf_files)
    entries = hdu_index_of(collection).entries_for(obs_ids[0])
    assert cache.shared_key(parts.EVENT_LIST, entries) is None


def test_bundle_of_shared_irfs_is_unchanged(tmp_path):
    """The bundle's members are those the observations' own parts give."""
    collection = _collection(tmp_path)
    observations = [(collection, o) for o in hdu_index_of(collection).datasets()]
    members = dict(bundle.members(observations, cache.ProductCache(str(tmp_path / "cache"))))
    for _, obs_id in observations:
        names = products.package_names(obs_id)
        with open_observation(collection, obs_id) as obs:
            expected = {names["events"]: products.event_list(obs),
                        names["irfs"]: products.all_irfs(obs)}
        for name, data in expected.items():
            with open(members[name], "rb") as f:
                assert f.read() == data, name


def _build_in_process(args):
    root, collection, obs_id = args
    paths = cache.ProductCache(root).files(collection, obs_id)
    return {part.name: open(path, "rb").read() for part, path in paths.items()}


def test_simultaneous_first_requests_build_once_and_never_see_a_partial_file(tmp_path):
    """Four processes and four threads ask for the same new files at once: all get the same
    complete bytes, and each file was written once (its inode is the first one's)."""
    import concurrent.futures
    import multiprocessing

    collection = _collection(tmp_path)
    obs_id = hdu_index_of(collection).datasets()[0]
    root = str(tmp_path / "cache")
    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(_build_in_process, [(root, collection, obs_id)] * 4)
    with concurrent.futures.ThreadPoolExecutor(4) as threads:
        results += list(threads.map(_build_in_process, [(root, collection, obs_id)] * 4))
    assert all(result == results[0] for result in results)
    with open_observation(collection, obs_id) as obs:
        assert results[0]["event-list"] == products.event_list(obs)
    directory = os.path.dirname(next(iter(cache.ProductCache(root).files(
        collection, obs_id).values())))
    assert not [n for n in os.listdir(directory) if n.endswith(".part")]


def test_a_changed_source_gives_new_files_and_the_old_ones_go(tmp_path):
    collection = _collection(tmp_path)
    obs_id = hdu_index_of(collection).datasets()[0]
    product_cache = cache.ProductCache(str(tmp_path / "cache"))
    before = product_cache.files(collection, obs_id, [parts.EVENT_LIST])[parts.EVENT_LIST]
    events = next(e.path for e in hdu_index_of(collection).entries_for(obs_id)
                  if e.hdu_type == "events")
    st = os.stat(events)
    os.utime(events, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # as a re-processed file
    after = product_cache.files(collection, obs_id, [parts.EVENT_LIST])[parts.EVENT_LIST]
    assert after != before and os.path.exists(after) and not os.path.exists(before)


def test_the_cache_keeps_within_its_size_dropping_the_least_recently_used(tmp_path):
    collection = _collection(tmp_path)
    obs_ids = hdu_index_of(collection).datasets()
    root = str(tmp_path / "cache")
    wanted = [parts.EVENT_LIST, parts.PREVIEW_PLOT]
    unbounded = cache.ProductCache(root)
    directories = [os.path.dirname(unbounded.files(collection, o, wanted)[parts.EVENT_LIST])
                   for o in obs_ids]
    sizes = [sum(os.path.getsize(os.path.join(d, n)) for n in os.listdir(d)) for d in directories]
    now = 1e10  # every use long past the grace time
    for age, directory in enumerate(directories):  # the first one used last
        os.utime(directory, (now - 1000 - age, now - 1000 - age))
    bounded = cache.ProductCache(root, max_bytes=sizes[0] + sizes[1] + 1)
    bounded.evict(now=now)
    kept = [os.path.isdir(d) for d in directories]
    assert kept == [True, True] + [False] * (len(directories) - 2)
    # what was evicted is built again when asked for
    again = bounded.files(collection, obs_ids[-1], wanted)
    assert os.path.exists(again[parts.EVENT_LIST])


def test_recently_used_files_are_not_evicted(tmp_path):
    collection = _collection(tmp_path)
    obs_id = hdu_index_of(collection).datasets()[0]
    root = str(tmp_path / "cache")
    path = cache.ProductCache(root).files(collection, obs_id, [parts.EVENT_LIST])[parts.EVENT_LIST]
    cache.ProductCache(root, max_bytes=1).evict(now=os.path.getmtime(path) + 1)
    assert os.path.exists(path)


def test_documentation_is_a_file_of_the_cache(tmp_path):
    collection = _collection(tmp_path)
    product_cache = cache.ProductCache(str(tmp_path / "cache"))
    path = product_cache.documentation(collection)
    assert path == product_cache.documentation(collection)
    with open(path, "rb") as f:
        assert f.read() == parts.build_documentation(collection)


def test_bundle_size_is_known_first_and_its_bytes_are_stable(tmp_path):
    import io

    collection = _collection(tmp_path)
    observations = [(collection, o) for o in hdu_index_of(collection).datasets()]
    product_cache = cache.ProductCache(str(tmp_path / "cache"))
    archive, representation = bundle.layout(observations, product_cache)
    out = io.BytesIO()
    assert archive.write(out) == archive.size == representation.size == len(out.getvalue())
    again, same = bundle.layout(observations, product_cache)
    second = io.BytesIO()
    again.write(second)
    assert second.getvalue() == out.getvalue() and same == representation


def test_bundle_of_colliding_obs_ids_has_a_directory_per_collection(tmp_path):
    """The same observations published in two collections (a re-release): one data store per
    collection, each with its own indexes, and a README.txt that says so."""
    import gzip
    import io
    import tarfile

    from astropy.table import Table

    first = _collection(tmp_path)
    second = dataclasses_replace(first, name="rerelease", schema="rerelease")
    obs_ids = hdu_index_of(first).datasets()[:2]
    observations = [(first, o) for o in obs_ids] + [(second, o) for o in obs_ids]
    archive, _ = bundle.layout(observations, cache.ProductCache(str(tmp_path / "cache")))
    out = io.BytesIO()
    archive.write(out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        names = tar.getnames()
        assert names[0] == "README.txt"
        readme = tar.extractfile("README.txt").read().decode()
        assert "synth/" in readme and "rerelease/" in readme and "DataStore.from_dir" in readme
        for directory in ("synth", "rerelease"):
            gzipped = tar.extractfile(f"{directory}/hdu-index.fits.gz").read()
            index = Table.read(io.BytesIO(gzip.decompress(gzipped)), format="fits")
            assert sorted(set(str(o) for o in index["OBS_ID"])) == sorted(obs_ids)
            for file_name in set(index["FILE_NAME"]):
                assert f"{directory}/{file_name}" in names


def dataclasses_replace(collection, **changes):
    import dataclasses
    return dataclasses.replace(collection, **changes)


def test_provenance_documents_are_built_once_per_stamp_beside_the_files(tmp_path):
    """A dataset's provenance documents are built from its rows (load), once for each stamp; a
    new stamp replaces them and leaves the dataset's files alone."""
    from provenance.records import Records

    collection = _collection(tmp_path)
    [obs_id, *_] = hdu_index_of(collection).datasets()
    product_cache = cache.ProductCache(str(tmp_path / "cache"))
    files = product_cache.files(collection, obs_id, [parts.EVENT_LIST])
    loads = []

    def load():
        records = Records(f"ivo://x/synth?{obs_id}")
        records.entity(records.did, name=f"dataset {obs_id} ({len(loads)})")
        loads.append(records)
        return records, []

    first = product_cache.provenance("synth", obs_id, "stamp 1", load)
    assert set(first) == set(parts.PROVENANCE_PARTS.values())
    assert product_cache.provenance("synth", obs_id, "stamp 1", load) == first and len(loads) == 1
    with open(first[parts.PROVENANCE_PARTS["provn"]], encoding="utf-8") as f:
        assert "dataset" in f.read()
    second = product_cache.provenance("synth", obs_id, "stamp 2", load)
    assert len(loads) == 2 and second != first
    assert not any(os.path.exists(path) for path in first.values())
    assert all(os.path.exists(path) for path in list(second.values()) + list(files.values()))
