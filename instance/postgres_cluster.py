"""A Debian PostgreSQL cluster (pg_lsclusters) on a database host of a cluster of hosts: made the
primary that streams its write-ahead log to replicas, or made such a replica (PostgreSQL's own
physical streaming replication: pg_basebackup, primary_conninfo, standby.signal).

Only Debian's and PostgreSQL's own tools: pg_conftool (postgresql.conf), pg_ctlcluster (start,
stop), pg_basebackup, run as the postgres user; pg_hba.conf gets a block of this service's lines
between two marker lines, replaced as a whole and nowhere else. The cluster itself is made by the
deployer (pg_createcluster, or Debian's `main`); nothing here creates or drops one.
"""

import os
import re
import shutil
import subprocess

from instance.database import DatabaseError, clusters, default_version

HBA_BEGIN = "# --- HE-ObsCore cluster: begin (written by instance/postgres_cluster.py) ---"
HBA_END = "# --- HE-ObsCore cluster: end ---"
AS_POSTGRES = ["runuser", "-u", "postgres", "--"]
# A replica is made only of a cluster that holds nothing else (what pg_createcluster makes).
FRESH_DATABASES = {"postgres", "template0", "template1"}


class PgCluster:
    """The cluster `name` of the PostgreSQL version Debian's postgresql package installs."""

    def __init__(self, name):
        self.name = name
        self.version = default_version()
        if self.version is None:
            raise DatabaseError("PostgreSQL is not installed (bin/setup-system installs it)")
        self.conf_dir = os.path.join("/etc/postgresql", self.version, name)

    def __str__(self):
        return f"PostgreSQL cluster {self.version}/{self.name}"

    def _row(self):
        for row in clusters():
            if row[0] == self.version and row[1] == self.name:
                return row
        raise DatabaseError(f"no {self}: make it with `pg_createcluster {self.version}"
                            f" {self.name}` (README, \"Several hosts\")")

    @property
    def port(self):
        return int(self._row()[2])

    @property
    def online(self):
        return self._row()[3].startswith("online")

    @property
    def data_dir(self):
        return self._row()[5]

    @property
    def is_standby(self):
        return os.path.exists(os.path.join(self.data_dir, "standby.signal"))

    # ---------------------------------------------------------------- configuration
    def setting(self, key):
        result = subprocess.run(["pg_conftool", "-s", self.version, self.name, "show", key],
                                capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else None

    def configure(self, settings):
        """Sets postgresql.conf keys (pg_conftool); returns those that changed."""
        changed = []
        for key, value in settings.items():
            if self.setting(key) != str(value):
                _run(["pg_conftool", self.version, self.name, "set", key, str(value)])
                changed.append(key)
        return changed

    def set_hba(self, lines):
        """Puts lines into pg_hba.conf between the markers (after Debian's own lines, which only
        name this machine); returns True if the file changed."""
        path = os.path.join(self.conf_dir, "pg_hba.conf")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        pattern = re.compile(re.escape(HBA_BEGIN) + r".*?" + re.escape(HBA_END) + r"\n?", re.S)
        block = "\n".join([HBA_BEGIN, *lines, HBA_END]) + "\n"
        kept = pattern.sub("", text)
        new = kept + ("" if kept.endswith("\n") or not kept else "\n") + block
        if new == text:
            return False
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)
        return True

    # ---------------------------------------------------------------- running it
    def ctl(self, action, *options):
        """pg_ctlcluster start|stop|restart|reload, never redirected to systemd (whose
        service would run outside the network namespace this runs in, on a test's hosts)."""
        _run(["pg_ctlcluster", "--skip-systemctl-redirect", *options, self.version, self.name,
              action])

    def ensure_running(self, restart=False, reload=False):
        if not self.online:
            self.ctl("start")
        elif restart:
            self.ctl("restart")
        elif reload:
            self.ctl("reload")

    def databases(self):
        """The databases in the (running) cluster."""
        out = _run(AS_POSTGRES + ["psql", "--cluster", f"{self.version}/{self.name}", "-X",
                                  "-At", "-d", "postgres", "-c", "SELECT datname FROM pg_database"])
        return set(out.split())

    def make_replica(self, primary, port, user, password):
        """Replaces this cluster's data with a base backup of the primary (pg_basebackup -R:
        standby.signal and primary_conninfo), refusing to if it holds any database of its own.
        A data directory left empty by a base backup that failed (pg_basebackup removes what
        it wrote) is filled at once."""
        data_dir = self.data_dir
        if os.listdir(data_dir):
            self.ensure_running()
            own = self.databases() - FRESH_DATABASES
            if own:
                raise DatabaseError(f"{self} holds databases ({', '.join(sorted(own))}): a"
                                    " replica is made only of a fresh cluster (pg_createcluster);"
                                    " its data would be replaced")
            self.ctl("stop")
            for entry in os.listdir(data_dir):
                path = os.path.join(data_dir, entry)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
        env = dict(os.environ, PGPASSWORD=password)
        _run(AS_POSTGRES + ["pg_basebackup", "-h", primary, "-p", str(port), "-U", user,
                            "-D", data_dir, "-R", "-X", "stream", "-c", "fast", "--no-password"],
             env=env)


def _run(argv, env=None):
    result = subprocess.run(argv, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise DatabaseError(f"`{' '.join(argv)}` failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout
