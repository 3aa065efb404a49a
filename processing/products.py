"""What a processing job publishes: three products, each a dataset of its own in ivoa.obscore.

| product          | dataproduct_type | CTAO level | file (gammapy 2.1)                         |
|------------------|------------------|------------|--------------------------------------------|
| spectrum-dataset | spectrum         | DL4        | SpectrumDatasetOnOff, stacked, GADF format |
| flux-points      | sed              | DL5        | FluxPoints, GADF SED format                |
| light-curve      | light-curve      | DL5        | FluxPoints, lightcurve format              |

dataproduct_type is the IVOA product-type vocabulary's term (etc/vocabularies/product-type.json).
calib_level is 4 for all three: ObsCore 1.1 stops at 4, "analysis data products generated after
some scientific data manipulation or interpretation", which both a reduced on/off spectrum (an
on-region and a background estimate chosen) and fitted fluxes are; the CTAO data level is in
dataproduct_subtype. A product's obs_publisher_did is ivo://<authority>/derived?<job>-<product>,
its obs_id the job's id (the three products of a job share it), obs_collection DERIVED.
Coverage is what was derived: the on-region (s_region, s_fov), the good time of the
observations used (t_min, t_max, t_intervals, t_exptime as live time), the energy bins that hold
values (energy_min/max, em_min/max).
"""

import io
import math
import urllib.parse
from dataclasses import dataclass

from astropy.io import votable
from astropy.table import Table
from astropy.time import Time

from ingest import sky, tmoc
from ingest.datasets import publisher_did
from ingest.observation import EV_METRES

SCHEMA = "derived"  # of the products' tables and their DIDs (rd/derived.rd.in)
OBS_COLLECTION = "DERIVED"
CALIB_LEVEL = 4
DATALINK_FORMAT = "application/x-votable+xml;content=datalink"


@dataclass(frozen=True)
class Kind:
    name: str  # file stem, DID suffix, `product` column
    dataproduct_type: str  # product-type vocabulary
    subtype: str  # dataproduct_subtype: the CTAO data level and the format
    o_ucd: str  # what the product's values are
    title: str

    def fits(self):
        return f"{self.name}.fits"

    def plot(self):
        return f"{self.name}.png"


SPECTRUM_DATASET = Kind("spectrum-dataset", "spectrum",
                        "DL4 spectrum dataset (gammapy SpectrumDatasetOnOff, GADF)", "phot.count",
                        "On/off counts spectrum with exposure and energy dispersion")
FLUX_POINTS = Kind("flux-points", "sed", "DL5 flux points (GADF SED)", "phot.flux.density",
                   "Flux points")
LIGHT_CURVE = Kind("light-curve", "light-curve", "DL5 light curve (gammapy lightcurve)",
                   "phot.flux", "Light curve")
KINDS = (SPECTRUM_DATASET, FLUX_POINTS, LIGHT_CURVE)
DOCUMENTATION = "documentation.txt"  # one per job: what was done, the inputs' terms of use


def kind_named(name):
    return next((k for k in KINDS if k.name == name), None)


def product_did(authority, job_id, kind):
    return publisher_did(authority, SCHEMA, f"{job_id}-{kind.name}")


def obscore_row(kind, job, coverage, inputs, rights, fits_size, site, created):
    """The row of one product in derived.products (ObsCore, HE and bookkeeping columns).

    job: {"id", "ra", "dec", "on_radius", "software"}; coverage: the product's entry of the
    analysis report (energies TeV, times MJD UTC, intervals); inputs: the InputDatasets used;
    rights: (data_rights, release_date, owner) from datalink.access.inherited_rights;
    created: the time the products were made (UTC)."""
    data_rights, release_date, owner = rights
    energy_min, energy_max = coverage["energy_min"] * 1e12, coverage["energy_max"] * 1e12
    target = _common(d.row["target_name"] for d in inputs)
    gammapy = job["software"]["gammapy"]
    return {
        "dataproduct_type": kind.dataproduct_type, "dataproduct_subtype": kind.subtype,
        "calib_level": CALIB_LEVEL, "obs_collection": OBS_COLLECTION, "obs_id": job["id"],
        "obs_title": (f"{kind.title} of {target or 'the target'} from {len(inputs)} DL3"
                      f" observation{'s' if len(inputs) > 1 else ''},"
                      f" {coverage['energy_min']:g}-{coverage['energy_max']:g} TeV (gammapy"
                      f" {gammapy})"),
        "obs_publisher_did": product_did(site.authority, job["id"], kind),
        "obs_creator_did": None,
        "access_format": DATALINK_FORMAT,
        "access_estsize": math.ceil(fits_size / 1000),
        "target_name": target,
        "s_ra": job["ra"], "s_dec": job["dec"], "s_fov": 2.0 * job["on_radius"],
        "s_region": sky.circle_polygon(job["ra"], job["dec"], job["on_radius"]),
        "t_min": coverage["t_min"], "t_max": coverage["t_max"],
        "t_exptime": coverage["livetime_s"], "t_xel": coverage["time_bins"],
        "t_intervals": _tmoc(coverage["intervals"]),
        "em_min": EV_METRES / energy_max, "em_max": EV_METRES / energy_min,
        "em_xel": coverage["energy_bins"], "em_ucd": "em.energy", "em_unit": "TeV",
        "o_ucd": kind.o_ucd,
        "energy_min": energy_min, "energy_max": energy_max,
        "messenger_name": "photon", "messenger_pdgid": "+22",
        "facility_name": _joined(d.row["facility_name"] for d in inputs),
        "instrument_name": _joined(d.row["instrument_name"] for d in inputs),
        "s_calib_status": "calibrated", "t_calib_status": "calibrated",
        "em_calib_status": "calibrated",
        "obs_creation_date": created,
        "obs_creator_name": f"{site.site_name} processing service (gammapy {gammapy})",
        "obs_release_date": release_date if data_rights != "public" else created,
        "data_rights": data_rights, "owner": owner,
        "publisher_id": site.publisher_id,
        "job_id": job["id"], "product": kind.name,
    }


def progenitor_rows(product_dids, inputs):
    """The rows of derived.progenitors: each product with each DL3 dataset it was made from."""
    return [{"obs_publisher_did": did, "progenitor_did": d.did} for did in product_dids
            for d in inputs]


def products_votable(rows, links_url):
    """The `result` of a job (a VOTable, as bytes): one row per product published, with its
    {links} URL (links_url?ID=...)."""
    table = Table(rows=[(r["obs_publisher_did"], r["product"], r["dataproduct_type"],
                         r["calib_level"],
                         f"{links_url}?{urllib.parse.urlencode({'ID': r['obs_publisher_did']})}",
                         r["obs_title"]) for r in rows],
                  names=("obs_publisher_did", "product", "dataproduct_type", "calib_level",
                         "access_url", "obs_title"))
    for name, ucd in RESULT_UCDS.items():
        table[name].meta["ucd"] = ucd
    out = io.BytesIO()
    votable.from_table(table).to_xml(out)
    return out.getvalue()


RESULT_UCDS = {"obs_publisher_did": "meta.ref.ivoid", "product": "meta.code.class",
               "dataproduct_type": "meta.code.class", "calib_level": "meta.code;obs.calib",
               "access_url": "meta.ref.url", "obs_title": "meta.title;obs"}


def _tmoc(intervals):
    """The time MOC (as the DL3 datasets' t_intervals) of [[start, stop], ...] MJD (UTC)."""
    bounds = Time([[a for a, _ in intervals], [b for _, b in intervals]], format="mjd",
                  scale="utc")
    return tmoc.gti_tmoc(bounds)


def _common(values):
    values = {v for v in values if v}
    return values.pop() if len(values) == 1 else None


def _joined(values):
    return ", ".join(sorted({v for v in values if v})) or None
