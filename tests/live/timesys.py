"""A small collection whose observations count their time in TT, TAI and UTC (tests/live/test_gti.py).

Its three observations have the same good time intervals, each written in its own time system: two
GTIs around the leap second at the end of 2016, the first ending inside it (23:59:60.4 UTC), the
second starting just after it (00:00:00.6 UTC). Seconds since MJDREF are what astropy counts between
the reference and each instant in the file's TIMESYS (in UTC the leap second is one of them, as the
FITS time paper says): whoever converts them without the leap second puts the second GTI a second
late, and an instant between the two in good time.

The files are small GADF observations (tests/unit/minigadf.py), otherwise like H.E.S.S. DR1 23523;
there is no obs-index.
"""

import os

import astropy.units as u
import numpy as np
from astropy.time import Time

from tests.unit import minigadf

SCHEMA, COLLECTION = "timesys", "TIMESYS-TEST"
MJDREF = 57753  # 2016-12-31, in each observation's own time scale
SYSTEMS = {"2001": "TT", "2002": "TAI", "2003": "UTC"}  # OBS_ID -> TIMESYS
GTI_UTC = (("2016-12-31T23:50:00", "2016-12-31T23:59:60.400"),
           ("2017-01-01T00:00:00.600", "2017-01-01T00:10:00"))
# The collection's entry in the test instance's collections file (its data_dir is set there).
CONFIGURATION = {
    "schema": SCHEMA, "obs_collection": COLLECTION, "title": "Time systems test collection",
    "description": "Three observations of the same good time intervals, in TT, TAI and UTC, around"
                   " the leap second at the end of 2016.",
    "hdu_index": "hdu-index.fits.gz", "facility_name": "Test array", "data_rights": "public",
    "site": {"name": "H.E.S.S. site, Khomas Highland, Namibia"}, "defaults": {"obs_type": "science"},
}


def seconds_since_mjdref(scale):
    """[(start, stop)] of GTI_UTC in seconds since MJDREF in `scale`, as astropy counts them."""
    reference = Time(MJDREF, 0.0, format="mjd", scale=scale.lower())
    return [tuple(float((Time(t, scale="utc") - reference).to_value(u.s)) for t in gti) for gti in GTI_UTC]


def write(directory):
    """Writes the collection into directory (data/obs_<id>.fits.gz and hdu-index.fits.gz)."""
    rows = []
    for obs_id, scale in SYSTEMS.items():
        (start, first_stop), (second_start, stop) = seconds_since_mjdref(scale)
        reference = {"MJDREFI": MJDREF, "MJDREFF": 0.0, "TIMESYS": scale}
        ontime = (first_stop - start) + (stop - second_start)
        events = minigadf.events_hdu(header={"OBS_ID": int(obs_id), **reference, "TSTART": start, "TSTOP": stop,
                                             "ONTIME": ontime, "LIVETIME": ontime * 0.9, "DEADC": 0.9})
        events.data["TIME"] = np.linspace(start, stop, len(events.data))
        gti = minigadf.gti_hdu([start, second_start], [first_stop, stop], header=reference)
        irfs = [minigadf.aeff_hdu(), minigadf.edisp_hdu(), minigadf.psf_hdu(), minigadf.bkg_hdu()]
        minigadf.write_fits(os.path.join(directory, "data", f"obs_{obs_id}.fits.gz"), [events, gti, *irfs])
        rows += minigadf.observation_rows(obs_id)
    minigadf.write_hdu_index(os.path.join(directory, "hdu-index.fits.gz"), rows)
    return directory
