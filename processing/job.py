"""One processing job, from its checked inputs to the analysis report: the input files laid out
as gammapy data stores, the analysis run by the gammapy virtualenv's Python, its progress passed
on, its time limited, its failure put in words.

The analysis (gammapy_analysis.py) runs as a child process of the job's process (`dachs
uwsrun`), in the same process group, so that stopping the server stops it too; cancelling the
job (the job process gets SIGINT: KeyboardInterrupt) kills it.
"""

import json
import os
import subprocess
import threading

from datalink import bundle

ANALYSIS_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gammapy_analysis.py")
# The steps of a job as its progress counts them: two before the analysis, the analysis's own
# (gammapy_analysis.STEPS, which it reports), one after.
STEPS_BEFORE = ("checking the parameters and the datasets", "laying out the input files")
ANALYSIS_STEPS = 6
STEPS_AFTER = ("publishing the products",)
STEPS = len(STEPS_BEFORE) + ANALYSIS_STEPS + len(STEPS_AFTER)
LOG = "analysis.log"


class AnalysisFailed(RuntimeError):
    """The analysis did not make its products; the message says why."""


def lay_out(directory, datasets, cache):
    """Writes the datasets' files as gammapy data stores under directory (the bundle service's
    layout, datalink/bundle.py: event lists and IRFs from the product cache, linked, and one
    hdu-index and obs-index per store); returns the analysis spec's "stores"."""
    observations = [(d.collection, d.key) for d in datasets]
    bundle.check_bundle(observations)
    stores = {}
    for dataset, store in zip(datasets, bundle.write_directory(directory, observations, cache)):
        stores.setdefault(store, []).append({"obs_id": int(dataset.row["obs_id"]),
                                             "did": dataset.did})
    return [{"directory": store, "observations": entries} for store, entries in stores.items()]


def analysis_spec(parameters, stores, outputs):
    """What gammapy_analysis.py reads (spec.json)."""
    return {"stores": stores, "ra": parameters.ra, "dec": parameters.dec,
            "on_radius": parameters.on_radius, "energy_edges": list(parameters.energy_edges),
            "time_edges": list(parameters.time_edges), "outputs": outputs}


def run_analysis(python, workdir, spec, timeout, on_progress):
    """Runs the analysis of spec (outputs in spec["outputs"]) with the gammapy virtualenv's
    python, at most timeout seconds; on_progress(step, stage) for each step it starts (counted
    from 1). Returns its report; raises AnalysisFailed."""
    os.makedirs(spec["outputs"], exist_ok=True)
    spec_path = os.path.join(workdir, "spec.json")
    with open(spec_path, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=1)
    log_path = os.path.join(workdir, LOG)
    with open(log_path, "wb") as log:
        process = subprocess.Popen([python, ANALYSIS_SCRIPT, spec_path], cwd=workdir,
                                   stdout=subprocess.PIPE, stderr=log, text=True)
    overran = threading.Event()
    watchdog = threading.Timer(timeout, lambda: (overran.set(), process.kill()))
    watchdog.start()
    error = None
    try:
        for line in process.stdout:
            message = _message(line)
            if "error" in message:
                error = message["error"]
            elif "step" in message:
                on_progress(message["step"], message["stage"])
        status = process.wait()
    finally:
        watchdog.cancel()
        if process.poll() is None:  # cancelled (KeyboardInterrupt) or a failure here
            process.kill()
            process.wait()
        process.stdout.close()
    if overran.is_set():
        raise AnalysisFailed(f"the analysis ran longer than the job's execution duration"
                             f" ({timeout:g} s) and was stopped")
    if error:
        raise AnalysisFailed(error)
    if status != 0:
        raise AnalysisFailed(f"gammapy stopped with an error: {_last_line(log_path)}"
                             f" (exit status {status})")
    with open(os.path.join(spec["outputs"], "report.json"), encoding="utf-8") as f:
        return json.load(f)


def _message(line):
    try:
        message = json.loads(line)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}


def _last_line(path):
    """The last line of the analysis's stderr: the exception of a traceback."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [line.strip() for line in f if line.strip()]
    return lines[-1] if lines else "no message"
