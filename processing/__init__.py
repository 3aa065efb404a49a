"""DL4/DL5 products made on the server with gammapy: plain Python, no DaCHS.

The processing service (a UWS job: dachs_ext/processing_core.py) takes published DL3 datasets and
parameters and makes, with gammapy 2.1 in its own virtualenv (.venv-gammapy; DaCHS's Python never
imports gammapy), a DL4 spectrum dataset, DL5 flux points and a light curve, each published as a
product of its own (ivoa.obscore, {links}, provenance).

parameters.py    the job's parameters: names, units, defaults, and their checks (clear messages)
inputs.py        the DL3 datasets a job asks for: looked up, which can be analysed, and why not
products.py      what a job publishes: the three product kinds, their DIDs and ObsCore rows
job.py           one job: its inputs laid out for gammapy, the analysis run, its report
progress.py      how far a job is, as the job document's jobInfo shows it
publication.py   the products' files kept and their rows written (derived.products, .progenitors)
gammapy_analysis.py  the analysis itself: the script .venv-gammapy's Python runs
"""
