"""Opens split DataLink downloads the way gammapy's VO client (gammapy.data.ivoa) does, and reports
what it found (JSON). Run with the gammapy virtualenv's Python:

    gammapy_vo_client.py <description.json>

The description holds, per observation, the downloaded FITS files (#this and each #calibration)
and the TAP row (lower-case GADF columns). As that client does (CLIENTS.md), the hdu-index is
built from the HDUs themselves: EXTNAME EVENTS and GTI, the others by HDUCLAS2, the HDU class from
HDUCLAS4; the obs-index is built from the TAP row.
"""

import json
import os
import sys

from astropy.io import fits
from astropy.table import Table
from gammapy.data import DataStore, HDUIndexTable, ObservationTable

from gammapy_open import evaluate

HDUCLAS2_TYPES = {"EFF_AREA": "aeff", "EDISP": "edisp", "PSF": "psf", "RPSF": "psf",
                  "BKG": "bkg", "RAD_MAX": "rad_max"}
OBS_COLUMNS = ["obs_id", "obs_mode", "ra_pnt", "dec_pnt", "alt_pnt", "az_pnt", "zen_pnt", "tstart",
               "tstop", "ontime", "livetime", "deadc", "n_tels", "tellist", "object"]


def hdu_rows(obs_id, path):
    rows = []
    with fits.open(path) as hdulist:
        for hdu in hdulist[1:]:
            name = hdu.header.get("EXTNAME", "")
            if name in ("EVENTS", "GTI"):
                hdu_type = hdu_class = name.lower()
            elif hdu.header.get("HDUCLAS2") in HDUCLAS2_TYPES:
                hdu_type = HDUCLAS2_TYPES[hdu.header["HDUCLAS2"]]
                hdu_class = hdu.header.get("HDUCLAS4", "").lower()
            else:
                continue
            rows.append((obs_id, hdu_type, hdu_class, os.path.dirname(path),
                         os.path.basename(path), name))
    return rows


def obs_row(tap_row):
    return {name.upper(): tap_row[name] for name in OBS_COLUMNS if tap_row.get(name) is not None}


def main(description_file):
    with open(description_file) as f:
        observations = json.load(f)
    rows, obs_rows = [], []
    for obs in observations:
        obs_id = int(obs["row"]["obs_id"])
        for path in obs["files"]:
            rows += hdu_rows(obs_id, path)
        obs_rows.append(obs_row(obs["row"]))
    hdu_table = HDUIndexTable(rows=rows, names=["OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR",
                                                "FILE_NAME", "HDU_NAME"])
    hdu_table.meta["BASE_DIR"] = "/"
    obs_table = ObservationTable(Table(rows=[[r.get(k) for k in obs_rows[0]] for r in obs_rows],
                                       names=list(obs_rows[0])))
    first = observations[0]["row"]
    obs_table.meta.update(MJDREFI=first["mjdrefi"], MJDREFF=first["mjdreff"],
                          TIMESYS=first["timesys"], TIMEUNIT="s")
    store = DataStore(hdu_table=hdu_table, obs_table=obs_table)
    report = {}
    for obs in observations:
        obs_id = int(obs["row"]["obs_id"])
        types = [r[1] for r in rows if r[0] == obs_id]
        report[str(obs_id)] = dict(evaluate(store.obs(obs_id)), hdu_types=sorted(types))
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
