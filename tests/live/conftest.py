"""The isolated DaCHS instance the live tests talk to.

One instance per test session: its own DaCHS root (var/test_<pid>), database, roles and a free
port, so the tests can run while `make serve` is running.  It is dropped at the end.
"""

import os
import socket

import pytest

from instance import Instance, stop_process


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    def __init__(self, inst):
        self.instance = inst
        self.url = inst.server_url
        self.tap_url = f"{self.url}/tap"
        self.dbname = inst.dbname

    def collection(self, name=None):
        return self.instance.collections[name or self.instance.default_collection]


@pytest.fixture(scope="session")
def service(hess_dir):
    inst = Instance(f"test_{os.getpid()}", port=free_port(),
                    data_dir=hess_dir)
    try:
        inst.prepare()
        proc = inst.start()
    except BaseException:
        if os.environ.get("HEOBS_KEEP_INSTANCE") != "1":
            inst.destroy()
        raise
    yield Service(inst)
    stop_process(proc)
    if os.environ.get("HEOBS_KEEP_INSTANCE") != "1":
        inst.destroy()


@pytest.fixture(scope="session")
def tap(service):
    import pyvo
    return pyvo.dal.TAPService(service.tap_url)
