"""The analysis of a processing job, run by the gammapy virtualenv's Python (.venv-gammapy):

    python gammapy_analysis.py <spec.json>

It imports gammapy and the standard library only (never the project's packages, which run on
Debian's Python beside DaCHS). spec.json (written by processing/job.py) names the data stores of
the input observations and the parameters; the outputs go to its "outputs" directory:

  spectrum-dataset.fits/.png  DL4: the on/off spectrum dataset of all observations, stacked
                              (gammapy SpectrumDatasetOnOff, GADF format)
  flux-points.fits/.png       DL5: flux points (gammapy FluxPoints, GADF SED format)
  light-curve.fits/.png       DL5: the light curve (gammapy FluxPoints, lightcurve format)
  report.json                 what was used and skipped, the fit, each product's coverage

The recipe (the README's "Processing service" says it too): a circular on-region of ON_RADIUS
around (RA, DEC); reconstructed energy bins ENERGY_EDGES; true energy from half the first edge
to twice the last, 10 bins per decade; per observation SpectrumDatasetMaker (counts, exposure,
edisp; containment correction), ReflectedRegionsBackgroundMaker (no exclusion mask) and
SafeMaskMaker (aeff-max, 10 %); a power law (index 2, 1e-12 cm-2 s-1 TeV-1 at 1 TeV to start)
fitted jointly to the observations; FluxPointsEstimator on ENERGY_EDGES (asymmetric errors and
upper limits); LightCurveEstimator from the first to the last edge, one bin per observation or
per TIME_EDGES bin (the observations cut at the edges). An observation without reflected OFF
regions or without any bin in its safe energy range is skipped, with the reason in the report.

It prints its progress as JSON lines {"step": i, "steps": n, "stage": "..."} on stdout. A
failure it understands ends it with exit status 2 and {"error": "..."} as the last line on
stdout; anything else with a traceback on stderr and status 1.
"""

import json
import logging
import os
import sys
import warnings

STEPS = ("reading the observations", "making the spectrum datasets", "fitting the spectrum",
         "estimating the flux points", "estimating the light curve", "writing the products")
TRUE_ENERGY_BINS_PER_DECADE = 10
SAFE_AEFF_PERCENT = 10
START_INDEX, START_AMPLITUDE = 2.0, "1e-12 cm-2 s-1 TeV-1"
SOURCE = "target"
REQUIRED_IRFS = ["aeff", "edisp", "psf"]


class AnalysisError(Exception):
    """A failure the analysis can name in words (no usable observation, a fit that fails)."""


def progress(step):
    print(json.dumps({"step": step + 1, "steps": len(STEPS), "stage": STEPS[step]}), flush=True)


def main(spec_path):
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    import matplotlib
    matplotlib.use("Agg")
    try:
        report = analyse(spec)
    except AnalysisError as exc:
        print(json.dumps({"error": str(exc)}), flush=True)
        return 2
    with open(os.path.join(spec["outputs"], "report.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    return 0


def analyse(spec):
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from regions import CircleSkyRegion

    progress(0)
    observations = read_observations(spec["stores"])
    target = SkyCoord(spec["ra"], spec["dec"], unit="deg", frame="icrs")
    on_region = CircleSkyRegion(target, spec["on_radius"] * u.deg)
    edges = spec["energy_edges"] * u.TeV

    progress(1)
    datasets, used, skipped = make_datasets(observations, on_region, edges)
    if not datasets:
        raise AnalysisError("no observation could be analysed: " + "; ".join(
            f"{s['obs_id']}: {s['reason']}" for s in skipped))

    progress(2)
    model = fit_power_law(datasets)

    progress(3)
    from gammapy.estimators import FluxPointsEstimator, LightCurveEstimator
    flux_points = FluxPointsEstimator(
        energy_edges=edges, source=SOURCE, selection_optional=["errn-errp", "ul"]
    ).run(datasets)

    progress(4)
    light_curve, bins = estimate_light_curve(spec, observations, on_region, edges, model,
                                             datasets, used)

    progress(5)
    outputs = spec["outputs"]
    stacked = datasets.stack_reduce(name="stacked")
    stacked.models = [model.copy(name=SOURCE, datasets_names=["stacked"])]
    stacked.write(os.path.join(outputs, "spectrum-dataset.fits"), checksum=True)
    flux_points.write(os.path.join(outputs, "flux-points.fits"), sed_type="likelihood",
                      format="gadf-sed", checksum=True)
    light_curve.write(os.path.join(outputs, "light-curve.fits"), sed_type="flux",
                      format="lightcurve", checksum=True)
    plot_products(outputs, stacked, flux_points, light_curve, model, edges)
    return report(spec, used, skipped, model, stacked, flux_points, light_curve, bins)


def read_observations(stores):
    """[(dataset DID, gammapy Observation)] of every store, in the order given."""
    from gammapy.data import DataStore

    observations = []
    for store in stores:
        data_store = DataStore.from_dir(store["directory"])
        for entry in store["observations"]:
            obs = data_store.obs(int(entry["obs_id"]), required_irf=REQUIRED_IRFS)
            observations.append((entry["did"], obs))
    return observations


def make_datasets(observations, on_region, edges):
    """(Datasets of the usable observations, [used], [skipped]) where used and skipped are
    dicts for the report."""
    import astropy.units as u
    from gammapy.datasets import Datasets, SpectrumDataset
    from gammapy.makers import (ReflectedRegionsBackgroundMaker, SafeMaskMaker,
                                SpectrumDatasetMaker)
    from gammapy.maps import MapAxis, RegionGeom

    energy_axis = MapAxis.from_energy_edges(edges, name="energy")
    true_axis = MapAxis.from_energy_bounds(edges[0] / 2, edges[-1] * 2,
                                           nbin=TRUE_ENERGY_BINS_PER_DECADE, per_decade=True,
                                           name="energy_true")
    empty = SpectrumDataset.create(geom=RegionGeom.create(region=on_region, axes=[energy_axis]),
                                   energy_axis_true=true_axis)
    maker = SpectrumDatasetMaker(containment_correction=True,
                                 selection=["counts", "exposure", "edisp"])
    background = ReflectedRegionsBackgroundMaker()
    safe = SafeMaskMaker(methods=["aeff-max"], aeff_percent=SAFE_AEFF_PERCENT)
    datasets, used, skipped = Datasets(), [], []
    for did, obs in observations:
        name = f"{obs.obs_id}-{len(datasets) + len(skipped)}"
        dataset = background.run(maker.run(empty.copy(name=name), obs), obs)
        entry = {"did": did, "obs_id": int(obs.obs_id)}
        if dataset.counts_off is None:
            skipped.append(dict(entry, reason="no reflected OFF region: the on-region is too"
                                " close to the pointing position"))
            continue
        dataset = safe.run(dataset, obs)
        if not dataset.mask_safe.data.any():
            skipped.append(dict(entry, reason="no energy bin of ENERGY_EDGES lies in its safe"
                                f" energy range (effective area above {SAFE_AEFF_PERCENT} % of"
                                " its maximum)"))
            continue
        datasets.append(dataset)
        used.append(dict(entry, **times_of(dataset.gti), name=dataset.name,
                         livetime_s=float(obs.observation_live_time_duration.to_value(u.s)),
                         n_on=int(dataset.counts.data[dataset.mask_safe.data].sum())))
    return datasets, used, skipped


def times_of(gti):
    """MJD (UTC) bounds and intervals of a GTI (gammapy keeps TT)."""
    starts, stops = gti.time_start.utc.mjd, gti.time_stop.utc.mjd
    return {"t_min": float(starts.min()), "t_max": float(stops.max()),
            "intervals": [[float(a), float(b)] for a, b in zip(starts, stops)]}


def fit_power_law(datasets):
    import astropy.units as u
    from gammapy.modeling import Fit
    from gammapy.modeling.models import PowerLawSpectralModel, SkyModel

    spectral = PowerLawSpectralModel(index=START_INDEX, amplitude=START_AMPLITUDE,
                                     reference=1 * u.TeV)
    model = SkyModel(spectral_model=spectral, name=SOURCE)
    datasets.models = [model]
    result = Fit().run(datasets=datasets)
    if not result.success:
        raise AnalysisError(f"the power-law fit did not converge: {result.message}")
    return model


def estimate_light_curve(spec, observations, on_region, edges, model, datasets, used):
    """(light curve, the report entries of what went into it): one bin per observation (the
    datasets), or per TIME_EDGES bin, each observation cut at the edges and the pieces reduced
    again."""
    from astropy.time import Time
    from gammapy.data import Observations
    from gammapy.estimators import LightCurveEstimator

    band = edges[[0, -1]]
    if not spec["time_edges"]:
        return LightCurveEstimator(energy_edges=band, source=SOURCE,
                                   selection_optional=["errn-errp", "ul"]).run(datasets), used
    bounds = spec["time_edges"]
    intervals = [Time([a, b], format="mjd", scale="utc") for a, b in zip(bounds, bounds[1:])]
    pieces = Observations([obs for _, obs in observations]).select_time(intervals)
    if len(pieces) == 0:
        raise AnalysisError("no observation has good time in the TIME_EDGES bins "
                            f"({bounds[0]} to {bounds[-1]} MJD)")
    short, pieces_used, _ = make_datasets([(None, obs) for obs in pieces], on_region, edges)
    if not short:
        raise AnalysisError("no part of an observation within the TIME_EDGES bins could be"
                            " analysed")
    short.models = [model.copy(name=SOURCE, datasets_names=short.names)]
    light_curve = LightCurveEstimator(energy_edges=band, source=SOURCE, time_intervals=intervals,
                                      selection_optional=["errn-errp", "ul"]).run(short)
    return light_curve, pieces_used


def plot_products(outputs, stacked, flux_points, light_curve, model, edges):
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(7, 6))
    ax_spectrum, ax_residuals = stacked.plot_fit()
    ax_spectrum.set_title("DL4 spectrum dataset (stacked, power-law fit)")
    figure.savefig(os.path.join(outputs, "spectrum-dataset.png"), dpi=80, bbox_inches="tight")
    plt.close(figure)

    figure, ax = plt.subplots(figsize=(7, 5))
    energy_bounds = edges[[0, -1]]
    model.spectral_model.plot(energy_bounds=energy_bounds, sed_type="e2dnde", ax=ax,
                              label="power law")
    model.spectral_model.plot_error(energy_bounds=energy_bounds, sed_type="e2dnde", ax=ax)
    flux_points.plot(ax=ax, sed_type="e2dnde", label="flux points")
    ax.legend()
    ax.set_title("DL5 flux points")
    figure.savefig(os.path.join(outputs, "flux-points.png"), dpi=80, bbox_inches="tight")
    plt.close(figure)

    figure, ax = plt.subplots(figsize=(7, 5))
    light_curve.plot(ax=ax, sed_type="flux", axis_name="time")
    ax.set_title(f"DL5 light curve, {edges[0].value:g} to {edges[-1].value:g} TeV")
    figure.savefig(os.path.join(outputs, "light-curve.png"), dpi=80, bbox_inches="tight")
    plt.close(figure)


def report(spec, used, skipped, model, stacked, flux_points, light_curve, bins):
    """What report.json says: the software, the observations used and skipped (with why), the
    fitted model, and each product's coverage: energies in TeV, times MJD (UTC)."""
    import astropy
    import gammapy
    import numpy

    edges = spec["energy_edges"]
    # the bins of ENERGY_EDGES (by index) that the safe mask kept, and that have a flux point
    safe = numpy.flatnonzero(stacked.mask_safe.data.ravel())
    valid = numpy.flatnonzero(numpy.isfinite(flux_points.to_table(sed_type="dnde")["dnde"]))
    if not len(valid):
        raise AnalysisError("no flux point could be estimated in any bin of ENERGY_EDGES")
    livetime = sum(entry["livetime_s"] for entry in used)
    intervals = sorted(i for entry in used for i in entry["intervals"])
    t_min, t_max = min(entry["t_min"] for entry in used), max(entry["t_max"] for entry in used)
    parameters = {p.name: {"value": float(p.value), "error": float(p.error), "unit": str(p.unit)}
                  for p in model.spectral_model.parameters}
    return {
        "software": {"gammapy": gammapy.__version__, "astropy": astropy.__version__,
                     "numpy": numpy.__version__, "python": sys.version.split()[0]},
        "used": used, "skipped": skipped,
        "model": {"type": "PowerLawSpectralModel", "parameters": parameters},
        "products": {
            "spectrum-dataset": {
                "energy_min": edges[safe[0]], "energy_max": edges[safe[-1] + 1],
                "energy_bins": len(safe), "t_min": t_min, "t_max": t_max,
                "intervals": intervals, "livetime_s": livetime, "time_bins": 1},
            "flux-points": {
                "energy_min": edges[valid[0]], "energy_max": edges[valid[-1] + 1],
                "energy_bins": len(valid), "t_min": t_min, "t_max": t_max,
                "intervals": intervals, "livetime_s": livetime, "time_bins": 1},
            "light-curve": {
                "energy_min": edges[0], "energy_max": edges[-1],
                "energy_bins": 1,
                "t_min": min(entry["t_min"] for entry in bins),
                "t_max": max(entry["t_max"] for entry in bins),
                "intervals": sorted(i for entry in bins for i in entry["intervals"]),
                "livetime_s": sum(entry["livetime_s"] for entry in bins),
                "time_bins": light_curve.geom.axes["time"].nbin},
        },
    }


if __name__ == "__main__":
    # gammapy's and astropy's warnings (IERS, units) are not the user's problem: the log of the
    # job keeps stderr, the progress and the error go to stdout
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    sys.exit(main(sys.argv[1]))
