"""Writing a whole synthetic collection, and the manifest that makes a rerun a no-op.

The manifest (synth-manifest.json) is written first with "complete": false and rewritten with
"complete": true once every file is in place. A rerun with the same parameters finds it complete and
returns at once; an interrupted run is redone over its own files (same parameters, same bytes). A
directory holding anything else (another synthetic collection, or files not made here) is left alone:
SynthError, rather than a collection mixing two runs.
"""

import json
import os
from dataclasses import asdict, dataclass

from . import events, indexes, irfs
from .fitsbytes import write_file
from .schedule import draw_schedule
from .sites import SITES, sites_named

MANIFEST = "synth-manifest.json"
# Bump when the files made for the same parameters change, so that old directories are not taken as
# complete for the new generator.
FORMAT_VERSION = 1


class SynthError(Exception):
    """The collection cannot be written (bad parameters, or an output directory holding other data)."""


@dataclass(frozen=True)
class Summary:
    out_dir: str
    hdu_index: str  # paths relative to out_dir
    obs_index: str
    manifest: str
    irf_files: tuple
    observations: int
    event_files: int  # 0 in metadata-only mode
    events: int  # sum of EVENT_COUNT, whether or not the event files were written
    skipped: bool = False  # True: a complete collection with these parameters was already there

    def to_json(self):
        values = asdict(self)
        del values["out_dir"], values["skipped"]
        values["irf_files"] = list(values["irf_files"])
        return values


def generate(out_dir, n, seed, metadata_only=False, sites=tuple(SITES)):
    """Writes a synthetic GADF collection of `n` observations into `out_dir` (see the package docstring)
    and returns a Summary. `metadata_only`: indexes and IRFs, no event files. `sites`: keys of
    sites.SITES. The same arguments give byte-identical files."""
    parameters = _parameters(n, seed, metadata_only, sites)
    out_dir = os.path.abspath(out_dir)
    previous = _check_out_dir(out_dir, parameters)
    if previous is not None:
        return previous
    _write_manifest(out_dir, parameters, None)
    schedule = draw_schedule(parameters["n"], parameters["seed"], sites_named(parameters["sites"]))
    irf_files = [os.path.relpath(irfs.write_irf_file(out_dir, irf), out_dir) for irf in schedule.irfs]
    event_dirs, event_names = events.event_locations(schedule)
    if not metadata_only:
        for i in range(len(schedule)):
            events.write_event_file(out_dir, schedule, i, event_dirs[i].decode(), event_names[i].decode())
    indexes.write_hdu_index(out_dir, schedule, event_dirs, event_names)
    indexes.write_obs_index(out_dir, schedule)
    summary = Summary(out_dir=out_dir, hdu_index=indexes.HDU_INDEX, obs_index=indexes.OBS_INDEX,
                      manifest=MANIFEST, irf_files=tuple(irf_files), observations=len(schedule),
                      event_files=0 if metadata_only else len(schedule),
                      events=int(schedule["event_count"].sum()))
    _write_manifest(out_dir, parameters, summary)
    return summary


def _parameters(n, seed, metadata_only, sites):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SynthError(f"n must be a whole number >= 1, not {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SynthError(f"seed must be a whole number >= 0, not {seed!r}")
    if isinstance(sites, str):
        sites = sites.split(",")  # "north,south", as on the command line
    try:
        keys = [site.key for site in sites_named({key.strip() for key in sites})]
    except ValueError as exc:
        raise SynthError(str(exc)) from None
    return {"n": n, "seed": seed, "metadata_only": bool(metadata_only), "sites": keys,
            "format": FORMAT_VERSION}


def _check_out_dir(out_dir, parameters):
    """The Summary of a complete collection already made with these parameters, None when there is
    nothing (or an interrupted run with these parameters) to redo; SynthError for anything else."""
    path = os.path.join(out_dir, MANIFEST)
    if not os.path.exists(path):
        if os.path.isdir(out_dir) and os.listdir(out_dir):
            raise SynthError(f"{out_dir} is not empty and holds no {MANIFEST}: not writing into it")
        return None
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("parameters") != parameters:
        raise SynthError(f"{out_dir} holds a synthetic collection made with other parameters "
                         f"({manifest.get('parameters')}): remove it or choose another directory")
    if not manifest.get("complete"):
        return None
    values = dict(manifest["summary"], irf_files=tuple(manifest["summary"]["irf_files"]))
    return Summary(out_dir=out_dir, skipped=True, **values)


def _write_manifest(out_dir, parameters, summary):
    manifest = {"generator": "synth (HE-ObsCore)", "parameters": parameters, "complete": summary is not None,
                "summary": summary.to_json() if summary else None}
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    write_file(os.path.join(out_dir, MANIFEST), [text.encode("utf-8")])
