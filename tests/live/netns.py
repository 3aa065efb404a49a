"""Hosts on one machine, as the cluster tests need them (tests/live/test_cluster.py): each host a
network namespace with an address of its own on a private LAN (a bridge in a namespace of its
own, a veth pair per host), so that traffic stays inside the namespaces made here; a host's
long-running programs also get a PID namespace of their own, so that killing a host kills all of
it (its job processes too) at once, as a machine that dies does.

Everything is made with iproute2 (`ip netns`, `ip link`) and util-linux's `unshare`, and removed
by Network.remove(), which the tests call however they end.
"""

import os
import signal
import subprocess

LAN_BRIDGE = "br0"


def ip(*args, check=True):
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


class Network:
    """A LAN 10.251.<n>.0/24 whose hosts are namespaces named <prefix>-<host>."""

    def __init__(self, prefix, number):
        self.prefix = prefix
        self.subnet = f"10.251.{number % 250}"
        self.lan = f"{prefix}-lan"
        self.hosts = {}  # name -> address
        self.processes = []  # Popen of every program started in a host

    def namespace(self, host):
        return f"{self.prefix}-{host}"

    def create(self):
        ip("netns", "add", self.lan)
        ip("-n", self.lan, "link", "add", LAN_BRIDGE, "type", "bridge")
        ip("-n", self.lan, "link", "set", LAN_BRIDGE, "up")

    def add_host(self, host, last_byte):
        """A namespace with loopback and eth0 at 10.251.<n>.<last_byte>/24 on the LAN."""
        namespace, address = self.namespace(host), f"{self.subnet}.{last_byte}"
        ip("netns", "add", namespace)
        self.hosts[host] = address
        peer = f"v{last_byte}"  # its end on the bridge (interface names: 15 characters at most)
        ip("link", "add", "eth0", "netns", namespace, "type", "veth", "peer", "name", peer,
           "netns", self.lan)
        ip("-n", self.lan, "link", "set", peer, "master", LAN_BRIDGE, "up")
        ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
        ip("-n", namespace, "link", "set", "eth0", "up")
        ip("-n", namespace, "link", "set", "lo", "up")
        return address

    def run(self, host, argv, **kwargs):
        """subprocess.run of argv on host (its network namespace)."""
        return subprocess.run(["ip", "netns", "exec", self.namespace(host), *argv], **kwargs)

    def start(self, host, argv, logfile, cwd=None):
        """Starts a long-running program on host, in a PID namespace of its own (unshare
        --kill-child: when the unshare process dies, everything in it dies); returns its Popen."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace(host), "unshare", "--pid", "--fork",
             "--mount-proc", "--kill-child", *argv],
            stdout=logfile, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
        self.processes.append(process)
        return process

    def kill(self, process):
        """Kills a host's program and everything it started, as a machine that dies."""
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()

    def pids(self, host):
        """The processes running in the host's network namespace."""
        return ip("netns", "pids", self.namespace(host), check=False).stdout.split()

    def unplug(self, host):
        """The host's cable pulled: packets to it go nowhere (no connection refused)."""
        ip("-n", self.namespace(host), "link", "set", "eth0", "down")

    def remove(self):
        for process in self.processes:
            self.kill(process)
        for host in list(self.hosts) + ["lan"]:
            ip("netns", "del", self.namespace(host), check=False)
