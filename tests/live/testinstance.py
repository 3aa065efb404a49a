"""What the live tests need to make a DaCHS instance of their own: its collections file (the
project's, with the data where the tests find it and the test rights), its users, a free port.
conftest.py makes the session's instance with them; tests that need another one (test_https.py)
too; and the clean-up of instances a killed session left behind."""

import os
import re
import socket

import yaml

from instance import PROJECT_ROOT, Instance

import timesys
from rights import MEMBER, OUTSIDER, OWNER_GROUP, PROPRIETARY_OBS, PROPRIETARY_SUBSET, RELEASE_DATE


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


def remove_stale_instances():
    """Drops the instances (database, roles, var/ directory) of test sessions whose process is
    gone: a session killed (SIGKILL, CI's timeout) never reaches its own clean-up."""
    var = os.path.join(PROJECT_ROOT, "var")
    for name in sorted(os.listdir(var)) if os.path.isdir(var) else []:
        match = re.fullmatch(r"test_(\d+)(_tls)?", name)
        if match and not _running(int(match.group(1))):
            Instance(name).destroy()


def _running(pid):
    try:
        os.kill(pid, 0)  # no signal sent: whether the process exists (in this PID namespace)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
