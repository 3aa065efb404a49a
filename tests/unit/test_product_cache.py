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
    obs_ids = hdu_index_of(collection).obs_ids()
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
    obs_ids = hdu_index_of(collection).obs_ids()
    keys = {cache.shared_key(parts.ALL_IRFS, hdu_index_of(collection).entries_for(o)): o
            for o in obs_ids}
    irf_files = {_irf_file(collection, o) for o in obs_ids}
    assert len(keys) == len(irf_files)
    entries = hdu_index_of(collection).entries_for(obs_ids[0])
    assert cache.shared_key(parts.EVENT_LIST, entries) is None


def test_bundle_of_shared_irfs_is_unchanged(tmp_path):
    """The bundle's members are those the observations' own parts give."""
    collection = _collection(tmp_path)
    observations = [(collection, o) for o in hdu_index_of(collection).obs_ids()]
    members = dict(bundle.members(observations, cache.ProductCache(str(tmp_path / "cache"))))
    for _, obs_id in observations:
        names = products.package_names(obs_id)
        with open_observation(collection, obs_id) as obs:
            expected = {names["events"]: products.event_list(obs),
                        names["irfs"]: products.all_irfs(obs)}
        for name, data in expected.items():
            with open(members[name], "rb") as f:
                assert f.read() == data, name
