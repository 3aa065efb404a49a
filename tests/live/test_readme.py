"""The README's "Adding a collection", followed as written: its commands and its YAML entry.

The data (made by `make synth`) goes to a temporary directory instead of var/synth, and the entry
is appended to a copy of the test instance's collections file instead of etc/collections.yaml;
everything else is the README's text.
"""

import os
import re
import subprocess

import pytest
import yaml

from instance import PROJECT_ROOT

README = os.path.join(PROJECT_ROOT, "README.md")
DEBIAN_PYTHON = "/usr/bin/python3"


def section(text, title):
    start = text.index(title)
    return text[start:text.index("\n### ", start + 1)]


@pytest.fixture(scope="module")
def steps():
    with open(README, encoding="utf-8") as f:
        text = section(f.read(), "### Adding a collection")
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, re.S)
    entry = next(body for kind, body in blocks if kind == "yaml" and "schema:" in body
                 and "data_dir:" in body)
    commands = [line.split("#")[0].strip() for kind, body in blocks if not kind
                for line in body.splitlines() if line.strip().startswith("make ")]
    return yaml.safe_load(entry), commands


def make_args(command):
    """`make synth N=200 SEED=7` -> {"N": "200", "SEED": "7"}."""
    return dict(word.split("=", 1) for word in command.split()[2:])


def test_readme_adds_a_collection(steps, service, tap, tmp_path):
    (name, entry), = steps[0].items()
    commands = steps[1]
    synth = next(c for c in commands if c.startswith("make synth"))
    args = make_args(synth)
    data_dir = tmp_path / os.path.basename(entry["data_dir"])
    subprocess.run([DEBIAN_PYTHON, "-m", "synth", "--out", str(data_dir), "--n", args["N"],
                    "--seed", args["SEED"]], cwd=PROJECT_ROOT, check=True, capture_output=True)

    check = next(c for c in commands if c.startswith("make check-data"))
    assert make_args(check)["DATA"] == entry["data_dir"]
    out = subprocess.run(["make", "-s", "check-data", f"DATA={data_dir}"], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{args['N']} readable, 0 rejected" in out.stdout + out.stderr

    with open(service.collections_file, encoding="utf-8") as f:
        document = yaml.safe_load(f)
    document["collections"][name] = dict(entry, data_dir=str(data_dir))
    collections = tmp_path / "collections.yaml"
    collections.write_text(yaml.safe_dump(document))
    ingest = next(c for c in commands if c.startswith("make ingest"))
    assert make_args(ingest) == {"COLLECTION": name}
    instance = [DEBIAN_PYTHON, "-m", "instance"]
    options = ["--instance", service.instance.name, "--port", str(service.instance.port),
               "--collections", str(collections), "--collection", name]
    try:
        out = subprocess.run(instance + ["ingest"] + options,
                             cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert f"{args['N']} added" in out.stderr
        [row] = tap.search(f"SELECT COUNT(*) AS n FROM ivoa.obscore"
                           f" WHERE obs_collection='{entry['obs_collection']}'")
        assert row["n"] == int(args["N"])
    finally:
        subprocess.run(instance + ["drop"] + options,
                       cwd=PROJECT_ROOT, capture_output=True, timeout=300)
    [row] = tap.search(f"SELECT COUNT(*) AS n FROM ivoa.obscore"
                       f" WHERE obs_collection='{entry['obs_collection']}'")
    assert row["n"] == 0
