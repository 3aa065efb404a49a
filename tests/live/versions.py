"""The versions of DaCHS and STILTS the live tests run against: what differs between them is
asserted per version (README, "DaCHS versions")."""

import functools
import re
import subprocess


def version_tuple(text):
    """(2, 11) from "2.11", (3, 4, 7) from "3.4.7-debian"."""
    return tuple(int(part) for part in re.findall(r"\d+", text.split("-")[0]))


@functools.lru_cache(1)
def stilts_version():
    """The version of the STILTS the validator tests run (3.4.7 on Debian 12, 3.5.2 on 13)."""
    out = subprocess.run(["stilts", "-version"], capture_output=True, text=True).stdout
    found = re.search(r"STILTS version (\S+)", out)
    assert found, out
    return version_tuple(found.group(1))
