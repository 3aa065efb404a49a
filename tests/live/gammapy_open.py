"""Opens a GADF directory with gammapy, as a user would, and reports what it found (JSON).

Run by the tests with the gammapy virtualenv's Python (.venv-gammapy: gammapy 2.1 from PyPI,
apart from Debian's Python that DaCHS runs on):  gammapy_open.py <directory> <obs_id> ...,
or gammapy_open.py --stores <obs_id> <directory> ... for one observation in each of several data stores
(a bundle of event subsets).
"""

import json
import sys

import astropy.units as u
import numpy as np
from gammapy.data import DataStore


def evaluate(obs):
    if hasattr(obs.aeff, "geom"):
        return evaluate_maps(obs)
    energy, offset = 1 * u.TeV, 0.5 * u.deg
    return {
        "events": len(obs.events.table),
        "aeff_m2": float(obs.aeff.evaluate(energy_true=energy, offset=offset).to_value("m2")),
        "edisp": float(obs.edisp.evaluate(energy_true=energy, offset=offset, migra=1.0)),
        "psf": float(obs.psf.evaluate(energy_true=energy, offset=offset,
                                      rad=0.05 * u.deg).to_value("sr-1")),
        "bkg": float(obs.bkg.evaluate(energy=energy, fov_lon=0.5 * u.deg, fov_lat=0 * u.deg).value),
    }


def evaluate_maps(obs):
    """IRF maps (HAWC): what gammapy made of each, and sums of their data (NaN left out) to compare
    with the files."""
    found = {"events": len(obs.events.table), "gti_seconds": float(obs.gti.time_sum.to_value("s"))}
    maps = {"aeff": obs.aeff, "edisp": obs.edisp.edisp_map, "psf": obs.psf.psf_map, "bkg": obs.bkg}
    for name, irf_map in maps.items():
        found[name] = type(getattr(obs, name)).__name__
        found[f"{name}_sum"] = float(np.nansum(irf_map.data))
    return found


def main(directory, obs_ids):
    store = DataStore.from_dir(directory)
    # required_irf="all-optional": gammapy's default asks for a full-enclosure IRF set by class
    # names, which HAWC's IRF maps do not have
    return {obs_id: evaluate(store.obs(int(obs_id), required_irf="all-optional")) for obs_id in obs_ids}


if __name__ == "__main__":
    if sys.argv[1] == "--stores":  # --stores <obs_id> <directory>...: one observation in each data store
        print(json.dumps({d: main(d, [sys.argv[2]])[sys.argv[2]] for d in sys.argv[3:]}))
    else:
        print(json.dumps(main(sys.argv[1], sys.argv[2:])))
