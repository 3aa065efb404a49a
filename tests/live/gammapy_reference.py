"""The reference analysis of test_processing.py: the Crab spectrum and light curve made here with
gammapy 2.1, directly on the release's files, by the recipe the README states for the processing
service (its own code, not the service's: only the parameters are shared).

Run with the gammapy virtualenv's Python (.venv-gammapy):
    gammapy_reference.py <data dir> <parameters.json>
parameters.json: {"obs_ids": [...], "ra", "dec", "on_radius", "energy_edges", "time_edges"}.
Prints JSON: the fitted power law, the flux points and the light curve, as plain numbers.
"""

import json
import sys
import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time
from gammapy.data import DataStore
from gammapy.datasets import Datasets, SpectrumDataset
from gammapy.estimators import FluxPointsEstimator, LightCurveEstimator
from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
from gammapy.maps import MapAxis, RegionGeom
from gammapy.modeling import Fit
from gammapy.modeling.models import PowerLawSpectralModel, SkyModel
from regions import CircleSkyRegion


def reduce(observations, geom, true_axis):
    """One on/off spectrum dataset per observation, safe-masked."""
    template = SpectrumDataset.create(geom=geom, energy_axis_true=true_axis)
    spectrum_maker = SpectrumDatasetMaker(selection=["counts", "exposure", "edisp"],
                                          containment_correction=True)
    off_maker = ReflectedRegionsBackgroundMaker()
    mask_maker = SafeMaskMaker(methods=["aeff-max"], aeff_percent=10)
    reduced = Datasets()
    for index, observation in enumerate(observations):
        on = spectrum_maker.run(template.copy(name=f"run-{index}"), observation)
        reduced.append(mask_maker.run(off_maker.run(on, observation), observation))
    return reduced


def numbers(table, columns):
    return {name: [float(v) for v in np.asarray(table[name]).ravel()] for name in columns}


def main(data_dir, parameters):
    store = DataStore.from_dir(data_dir)
    observations = store.get_observations(parameters["obs_ids"],
                                          required_irf=["aeff", "edisp", "psf"])
    centre = SkyCoord(parameters["ra"] * u.deg, parameters["dec"] * u.deg, frame="icrs")
    region = CircleSkyRegion(center=centre, radius=parameters["on_radius"] * u.deg)
    edges = u.Quantity(parameters["energy_edges"], "TeV")
    geom = RegionGeom.create(region=region,
                             axes=[MapAxis.from_energy_edges(edges, name="energy")])
    true_axis = MapAxis.from_energy_bounds(0.5 * edges[0], 2 * edges[-1], nbin=10,
                                           per_decade=True, name="energy_true")

    datasets = reduce(observations, geom, true_axis)
    power_law = PowerLawSpectralModel(index=2, amplitude="1e-12 cm-2 s-1 TeV-1",
                                      reference="1 TeV")
    model = SkyModel(spectral_model=power_law, name="crab")
    datasets.models = [model]
    fit = Fit().run(datasets=datasets)

    points = FluxPointsEstimator(energy_edges=edges, source="crab",
                                 selection_optional=["errn-errp", "ul"]).run(datasets)

    intervals = [Time([start, stop], format="mjd", scale="utc")
                 for start, stop in zip(parameters["time_edges"], parameters["time_edges"][1:])]
    pieces = reduce(observations.select_time(intervals), geom, true_axis)
    pieces.models = [model.copy(name="crab", datasets_names=pieces.names)]
    curve = LightCurveEstimator(energy_edges=edges[[0, -1]], source="crab",
                                time_intervals=intervals,
                                selection_optional=["errn-errp", "ul"]).run(pieces)

    return {
        "fit_success": bool(fit.success),
        "index": float(power_law.index.value),
        "amplitude": float(power_law.amplitude.value),
        "flux_points": numbers(points.to_table(sed_type="likelihood"),
                               ["e_ref", "e_min", "e_max", "norm", "norm_err", "norm_errn",
                                "norm_errp", "norm_ul", "ts"]),
        "light_curve": numbers(curve.to_table(sed_type="flux", format="lightcurve"),
                               ["time_min", "time_max", "flux", "flux_err", "flux_ul"]),
    }


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    with open(sys.argv[2], encoding="utf-8") as f:
        print(json.dumps(main(sys.argv[1], json.load(f))))
