"""The shared IRF files: one per site and zenith bin, each with AEFF_2D, EDISP_2D, PSF_TABLE and BKG_3D.

Shapes and units follow GADF (and so what gammapy reads); the values are smooth plausible functions, not
a simulation: an effective area rising above the threshold, a Gaussian migration whose width shrinks
with energy, a Gaussian PSF (the table format, as CTAO's pyirf writes), a power-law background.
Everything is computed from the site and zenith alone, so the files are the same for every seed.
Array columns are in numpy order [offset, energy] (AEFF), [offset, migra, energy] (EDISP),
[rad, offset, energy] (PSF) and [energy, dety, detx] (BKG), which FITS TDIM writes reversed.
"""

import os
from dataclasses import dataclass

import numpy as np

from .fitsbytes import Column, primary_hdu, table_hdu, write_file

ZENITHS = (20, 40, 60)  # deg: the IRF bins an observation is assigned to by its zenith angle
ZENITH_EDGES = (30.0, 50.0)
IRF_DIR = "caldb"
HDUDOC = "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats"
HDUVERS = "0.3"
# Fixed creation date of the IRF files (a clock date would break byte-identical reruns).
IRF_DATE = "2025-06-01T00:00:00"
HI_THRES_TEV = 150.0
# hdu_type -> (HDU_CLASS in the hdu-index, EXTNAME in the file), in hdu-index order.
HDUS = {
    "aeff": ("aeff_2d", "EFFECTIVE AREA"),
    "edisp": ("edisp_2d", "ENERGY DISPERSION"),
    "psf": ("psf_table", "POINT SPREAD FUNCTION"),
    "bkg": ("bkg_3d", "BACKGROUND"),
}

ENERGY_EDGES = 10.0 ** (np.arange(-12, 15) / 5.0)  # TeV: 0.004 .. 631, 5 bins per decade, 1 TeV an edge
MIGRA_EDGES = np.linspace(0.2, 3.0, 57)
RAD_EDGES = np.linspace(0.0, 0.6, 121)  # deg
BKG_ENERGY_EDGES = 10.0 ** (np.arange(-4, 6) / 2.0)  # TeV: 0.01 .. 316


@dataclass(frozen=True)
class IrfSet:
    """The IRFs of one site and zenith bin, in one file."""

    site: object  # sites.Site
    zenith: int

    @property
    def config(self):
        """IRF name (AEFF CONFIG, the obs-index IRF column), CTA-1DC style: optimised for 0.5 h runs."""
        return f"{self.site.label}_z{self.zenith}_0.5h"

    @property
    def file_name(self):
        return f"irf_{self.site.label}_z{self.zenith}.fits"

    @property
    def lo_thres(self):
        return threshold_tev(self.site, self.zenith)

    @property
    def offset_edges(self):
        return np.arange(0.0, self.site.fov_radius + 0.01, 0.5)


def irf_sets(sites):
    return tuple(IrfSet(site, zenith) for site in sites for zenith in ZENITHS)


def zenith_bin(zenith):
    """Index into ZENITHS of the IRF bin for each zenith angle."""
    return np.searchsorted(ZENITH_EDGES, zenith)


def threshold_tev(site, zenith):
    """Energy threshold: it rises as cos(zenith)^-2.5 (more atmosphere, fainter showers)."""
    return round(float(site.threshold_tev * np.cos(np.radians(zenith)) ** -2.5), 4)


def write_irf_file(out_dir, irf):
    path = os.path.join(out_dir, IRF_DIR, irf.file_name)
    write_file(path, primary_hdu() + aeff_hdu(irf) + edisp_hdu(irf) + psf_hdu(irf) + bkg_hdu(irf))
    return path


def _centres(edges):
    return (edges[:-1] + edges[1:]) / 2.0


def _axis(name, edges, unit):
    """The LO/HI columns of one axis (one row holding the whole axis)."""
    lo, hi = edges[:-1].astype(np.float32), edges[1:].astype(np.float32)
    columns = [Column(f"{name}_LO", f"{len(lo)}E", unit), Column(f"{name}_HI", f"{len(hi)}E", unit)]
    return columns, {f"{name}_LO": lo[np.newaxis], f"{name}_HI": hi[np.newaxis]}


def _table(irf, axes, name, values, unit, hdu_type, extra_cards=()):
    columns, arrays = [], {}
    for axis_name, edges, axis_unit in axes:
        axis_columns, axis_arrays = _axis(axis_name, edges, axis_unit)
        columns += axis_columns
        arrays.update(axis_arrays)
    columns.append(Column(name, f"{values.size}E", unit, values.shape))
    arrays[name] = values.astype(np.float32)[np.newaxis]
    return table_hdu(columns, arrays, _cards(irf, hdu_type) + list(extra_cards))


def _cards(irf, hdu_type):
    hdu_class4 = HDUS[hdu_type][0].upper()
    hdu_class2 = {"aeff": "EFF_AREA", "edisp": "EDISP", "psf": "RPSF", "bkg": "BKG"}[hdu_type]
    return [
        ("EXTNAME", HDUS[hdu_type][1], "name of this binary table extension"),
        ("HDUCLASS", "GADF", "FITS file following the GADF format"), ("HDUDOC", HDUDOC),
        ("HDUVERS", HDUVERS, "GADF version"), ("HDUCLAS1", "RESPONSE"), ("HDUCLAS2", hdu_class2),
        ("HDUCLAS3", "FULL-ENCLOSURE"), ("HDUCLAS4", hdu_class4),
        ("TELESCOP", "CTAO"), ("INSTRUME", irf.site.instrument), ("ORIGIN", "HE-ObsCore synth"),
        ("DATE", IRF_DATE, "file creation date (fixed: synthetic)"),
        ("CONFIG", irf.config, "IRF configuration"),
        ("ZENITH", float(irf.zenith), "[deg] zenith angle the IRFs were made for"),
    ]


def aeff_hdu(irf):
    energy = _centres(ENERGY_EDGES)[np.newaxis, :]
    offset = _centres(irf.offset_edges)[:, np.newaxis]
    rise = (energy / (1.5 * irf.lo_thres)) ** 3
    # Area shrinks with offset over the field of view, and reaches its plateau above ~3x threshold.
    area = irf.site.max_effective_area_m2 * rise / (1.0 + rise)
    area = area * np.exp(-0.5 * (offset / (0.6 * irf.site.fov_radius)) ** 2)
    thresholds = [("LO_THRES", irf.lo_thres, "[TeV] low energy threshold"),
                  ("HI_THRES", HI_THRES_TEV, "[TeV] high energy threshold")]
    axes = [("ENERG", ENERGY_EDGES, "TeV"), ("THETA", irf.offset_edges, "deg")]
    return _table(irf, axes, "EFFAREA", area, "m2", "aeff", thresholds)


def _psf_sigma_deg(irf, energy, offset):
    """Gaussian PSF width: 0.03 deg at high energies, broader near threshold and towards the edge."""
    return (0.025 + 0.06 * (energy / 0.1) ** -0.6) * (1.0 + 0.08 * offset) * (1.0 + irf.zenith / 200.0)


def psf_hdu(irf):
    energy = _centres(ENERGY_EDGES)[np.newaxis, np.newaxis, :]
    offset = _centres(irf.offset_edges)[np.newaxis, :, np.newaxis]
    rad = _centres(RAD_EDGES)[:, np.newaxis, np.newaxis]
    sigma = np.radians(_psf_sigma_deg(irf, energy, offset))
    rpsf = np.exp(-0.5 * (np.radians(rad) / sigma) ** 2) / (2.0 * np.pi * sigma ** 2)  # per steradian
    axes = [("ENERG", ENERGY_EDGES, "TeV"), ("THETA", irf.offset_edges, "deg"), ("RAD", RAD_EDGES, "deg")]
    return _table(irf, axes, "RPSF", rpsf, "sr-1", "psf")


def edisp_hdu(irf):
    energy = _centres(ENERGY_EDGES)[np.newaxis, np.newaxis, :]
    offset = _centres(irf.offset_edges)[:, np.newaxis, np.newaxis]
    migra = _centres(MIGRA_EDGES)[np.newaxis, :, np.newaxis]
    # Resolution 25% near threshold improving to 7%, worse off-axis; a bias upwards near threshold.
    sigma = (0.07 + 0.18 / (1.0 + energy / (3.0 * irf.lo_thres))) * (1.0 + 0.05 * offset)
    bias = 1.0 + 0.1 / (1.0 + energy / irf.lo_thres)
    pdf = np.exp(-0.5 * ((migra - bias) / sigma) ** 2)
    pdf = pdf / (pdf.sum(axis=1, keepdims=True) * np.diff(MIGRA_EDGES)[0])  # a density in migra
    axes = [("ENERG", ENERGY_EDGES, "TeV"), ("MIGRA", MIGRA_EDGES, ""), ("THETA", irf.offset_edges, "deg")]
    return _table(irf, axes, "MATRIX", pdf, "", "edisp")


def bkg_hdu(irf):
    radius = irf.site.fov_radius
    det_edges = np.linspace(-radius, radius, int(4 * radius) + 1)
    energy = _centres(BKG_ENERGY_EDGES)[:, np.newaxis, np.newaxis]
    detx = _centres(det_edges)[np.newaxis, np.newaxis, :]
    dety = _centres(det_edges)[np.newaxis, :, np.newaxis]
    # Rate per MeV s sr: a steep power law, cut below threshold, falling off towards the FoV edge;
    # normalised so that it predicts about as many counts as the (small) synthetic event lists hold.
    rate = 7e-7 * energy ** -2.7 / (1.0 + (irf.lo_thres / energy) ** 3)
    rate = rate * np.exp(-0.5 * (detx ** 2 + dety ** 2) / (0.5 * radius) ** 2)
    axes = [("DETX", det_edges, "deg"), ("DETY", det_edges, "deg"), ("ENERG", BKG_ENERGY_EDGES, "TeV")]
    return _table(irf, axes, "BKG", rate, "MeV-1 s-1 sr-1", "bkg",
                  [("FOVALIGN", "RADEC", "field-of-view coordinates aligned with RA/Dec")])
