"""A test session killed before its clean-up (SIGKILL, CI's timeout) leaves its instance behind:
the next session drops it (testinstance.remove_stale_instances), and never one whose session
still runs."""

import os
import subprocess

from instance import Instance

from testinstance import remove_stale_instances


def _dead_pid():
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_an_instance_of_a_killed_session_is_dropped():
    inst = Instance(f"test_{_dead_pid()}")
    inst.db.create()
    os.makedirs(os.path.join(inst.root, "state"))
    remove_stale_instances()
    assert not inst.db.exists()
    assert not os.path.exists(inst.root)


def test_the_instance_of_a_running_session_is_kept(service):
    remove_stale_instances()
    assert service.instance.db.exists()
    assert os.path.isdir(service.instance.root)
