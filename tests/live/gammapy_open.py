"""Opens a GADF directory with gammapy, as a user would, and reports what it found (JSON).

Run by the tests with the gammapy virtualenv's Python (.venv-gammapy: gammapy 2.1 from PyPI,
apart from Debian's Python that DaCHS runs on):  gammapy_open.py <directory> <obs_id> ...
"""

import json
import sys

import astropy.units as u
from gammapy.data import DataStore


def evaluate(obs):
    energy, offset = 1 * u.TeV, 0.5 * u.deg
    return {
        "events": len(obs.events.table),
        "aeff_m2": float(obs.aeff.evaluate(energy_true=energy, offset=offset).to_value("m2")),
        "edisp": float(obs.edisp.evaluate(energy_true=energy, offset=offset, migra=1.0)),
        "psf": float(obs.psf.evaluate(energy_true=energy, offset=offset,
                                      rad=0.05 * u.deg).to_value("sr-1")),
        "bkg": float(obs.bkg.evaluate(energy=energy, fov_lon=0.5 * u.deg, fov_lat=0 * u.deg).value),
    }


def main(directory, obs_ids):
    store = DataStore.from_dir(directory)
    print(json.dumps({obs_id: evaluate(store.obs(int(obs_id))) for obs_id in obs_ids}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
