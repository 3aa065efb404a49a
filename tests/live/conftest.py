"""The isolated DaCHS instance the live tests talk to.

One instance per test session: its own DaCHS root (var/test_<pid>), database, roles and a free
port, so the tests can run while `make serve` is running.  It is dropped at the end.
"""

import os
import socket

import pytest
import yaml

from instance import PROJECT_ROOT, Instance, stop_process
from tests.conftest import HAWC_DIR

import timesys
from rights import MEMBER, OUTSIDER, OWNER_GROUP, PROPRIETARY_OBS, PROPRIETARY_SUBSET, RELEASE_DATE
from versions import version_tuple


def collections_file(directory, data_dirs):
    """etc/collections.yaml with the data where the tests find it ({name: data_dir}), one
    proprietary observation and one proprietary HAWC event subset (rights.py)."""
    with open(os.path.join(PROJECT_ROOT, "etc", "collections.yaml"), encoding="utf-8") as f:
        document = yaml.safe_load(f)
    document["collections"]["corpus"] = dict(CORPUS_COLLECTION)
    document["collections"][timesys.SCHEMA] = dict(timesys.CONFIGURATION)
    for name, data_dir in data_dirs.items():
        document["collections"][name]["data_dir"] = data_dir
    hess = document["collections"]["hess_dr1"]
    proprietary = {"data_rights": "proprietary", "obs_release_date": RELEASE_DATE, "owner": OWNER_GROUP}
    hess.setdefault("observations", {})[PROPRIETARY_OBS] = dict(proprietary)
    hawc = document["collections"]["hawc_crab_pass4"]
    hawc.setdefault("observations", {})[PROPRIETARY_SUBSET] = dict(proprietary)
    path = os.path.join(directory, "collections.yaml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(document, f)
    return path


# A further collection for the ingest tests (test_ingest.py), not published at the start: its
# data_dir is a symbolic link the tests point at one GADF directory after the other. HAWC's
# collection (test_hawc.py) is not published at the start either; its data_dir is a link too, and
# neither is the time systems collection (timesys.py, test_gti.py).
CORPUS_COLLECTION = {
    "schema": "corpus", "obs_collection": "CORPUS", "title": "Ingest test corpus",
    "description": "Copies of three H.E.S.S. DL3 DR1 observations, damaged by the tests.",
    "data_dir": None, "hdu_index": "hdu-index.fits.gz", "obs_index": "obs-index.fits.gz",
    "facility_name": "H.E.S.S.", "data_rights": "public", "licence_file": "README.txt",
    "site": {"name": "H.E.S.S. site, Khomas Highland, Namibia"},
    "defaults": {"obs_type": "science"},
}


def add_users(inst):
    for user, password in (MEMBER, OUTSIDER):
        inst.dachs("admin", "adduser", user, password)
    inst.dachs("admin", "addtogroup", MEMBER[0], OWNER_GROUP)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    def __init__(self, inst, servers):
        # pids: the DaCHS server processes (several behind nginx: instance/server.py)
        self.instance, self.servers, self.pids = inst, servers, servers.dachs_pids
        # A DaCHS process on its own port of 127.0.0.1, behind nginx: DaCHS answering alone.
        self.dachs_url = f"http://127.0.0.1:{servers.dachs_ports[0]}"
        # What differs between DaCHS versions is asserted per version (README, "DaCHS versions").
        self.dachs_version = version_tuple(inst.features()["dachs"])
        # The DataLink version DaCHS declares: 1.0 in DaCHS 2.7, 1.1 since 2.8.
        self.datalink_standard = "ivo://ivoa.net/std/DataLink#links-1." + (
            "0" if self.dachs_version < (2, 8) else "1")
        self.collections_file = inst.collections_file
        self.url = inst.server_url
        self.tap_url = f"{self.url}/tap"
        self.dbname = inst.dbname

    def collection(self, name=None):
        return self.instance.collections[name or self.instance.default_collection]


@pytest.fixture(scope="session")
def service(hess_dir, cta_dir, tmp_path_factory):
    etc = tmp_path_factory.mktemp("etc")
    corpus_link = os.path.join(tmp_path_factory.mktemp("corpus"), "current")
    hawc_link = os.path.join(tmp_path_factory.mktemp("hawc"), "current")
    os.symlink(HAWC_DIR, hawc_link)
    timesys_dir = timesys.write(str(tmp_path_factory.mktemp("timesys")))
    inst = Instance(f"test_{os.getpid()}", port=free_port(), collections_file=collections_file(
        etc, {"hess_dr1": hess_dir, "cta_1dc": cta_dir, "corpus": corpus_link,
              "hawc_crab_pass4": hawc_link, timesys.SCHEMA: timesys_dir}))
    try:
        inst.prepare(["hess_dr1", "cta_1dc"])
        add_users(inst)
        proc = inst.start()
    except BaseException:
        if os.environ.get("HEOBS_KEEP_INSTANCE") != "1":
            inst.destroy()
        raise
    yield Service(inst, proc)
    stop_process(proc)
    if os.environ.get("HEOBS_KEEP_INSTANCE") != "1":
        inst.destroy()


@pytest.fixture(scope="session")
def tap(service):
    import pyvo
    return pyvo.dal.TAPService(service.tap_url)
