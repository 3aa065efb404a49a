"""The isolated DaCHS instance the live tests talk to.

One instance per test session: its own DaCHS root (var/test_<pid>), database, roles and a free
port, so the tests can run while `make serve` is running.  It is dropped at the end, and one
left behind by a session that was killed is dropped at the start of the next.
"""

import os

import pytest

from instance import Instance, stop_process
from tests.conftest import HAWC_DIR

import timesys
from testinstance import add_users, collections_file, free_port, remove_stale_instances
from versions import version_tuple


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
    remove_stale_instances()
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
