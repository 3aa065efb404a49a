"""IRF evaluations (spec §4.5–4.7) on small synthetic IRFs whose answers are known analytically."""

import math

import numpy as np
import pytest
from astropy.io import fits

from ingest.errors import IngestError
from ingest.fitsfiles import FitsFiles
from ingest.irf import edisp_resolving_power, energy_bin, offset_bin, psf_fwhm_arcsec, summarise_irfs

FWHM_PER_SIGMA = 2 * math.sqrt(2 * math.log(2))
ENERGY_EDGES = np.array([0.1, 0.5, 1.0, 2.0, 10.0])  # TeV: 1 TeV is an edge, on purpose
OFFSET_EDGES = np.array([0.0, 1.0, 2.0])


@pytest.fixture(autouse=True)
def irf_files(tmp_path):
    """Where irf_hdu writes its files, and the FitsFiles it reads them back through."""
    global _directory, _files
    with FitsFiles() as _files:
        _directory = tmp_path
        yield


def irf_hdu(name, arrays, header=None, energy_names=("ENERG_LO", "ENERG_HI")):
    """A one-row IRF table: axis columns plus `arrays` {column: (numpy array, unit)}, written to a
    file and read back as the ingest reads it (a LocatedHdu)."""
    columns = [
        fits.Column(name=energy_names[0], format=f"{len(ENERGY_EDGES) - 1}E", unit="TeV",
                    array=[ENERGY_EDGES[:-1]]),
        fits.Column(name=energy_names[1], format=f"{len(ENERGY_EDGES) - 1}E", unit="TeV",
                    array=[ENERGY_EDGES[1:]]),
        fits.Column(name="THETA_LO", format=f"{len(OFFSET_EDGES) - 1}E", unit="deg", array=[OFFSET_EDGES[:-1]]),
        fits.Column(name="THETA_HI", format=f"{len(OFFSET_EDGES) - 1}E", unit="deg", array=[OFFSET_EDGES[1:]]),
    ]
    for column, (values, unit) in arrays.items():
        values = np.asarray(values, dtype=np.float32)
        columns.append(fits.Column(name=column, format=f"{values.size}E", unit=unit, dim=_tdim(values.shape),
                                   array=[values]))
    hdu = fits.BinTableHDU.from_columns(columns, name=name)
    for key, value in (header or {}).items():
        hdu.header[key] = value
    path = _directory / f"irf-{len(list(_directory.iterdir()))}.fits"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    return _files.get(str(path)).hdus[1]


def _tdim(shape):
    return "(" + ",".join(str(n) for n in reversed(shape)) + ")" if len(shape) > 1 else None


def per_bin(values_by_energy):
    """A [offset, energy] array with the same value at both offsets."""
    return np.array([values_by_energy, values_by_energy])


def test_bins():
    lo, hi = ENERGY_EDGES[:-1], ENERGY_EDGES[1:]
    assert energy_bin(lo, hi, 1.0) == 1  # lo < E <= hi: the bin [0.5, 1.0]
    assert energy_bin(lo, hi, 1.5) == 2
    assert energy_bin(lo, hi, 0.01) == 0 and energy_bin(lo, hi, 100.0) == 3  # outside: the end bins
    assert offset_bin(np.array([0.0, 1.0]), np.array([1.0, 2.0]), 0.5) == 0
    # H.E.S.S. DR1 writes offsets as points (lo = hi): the nearest one
    points = np.array([0.0, 0.5, 1.0])
    assert offset_bin(points, points, 0.5) == 1
    assert offset_bin(points, points, 0.7) == 1


def test_3gauss_single_gaussian():
    sigma = [0.2, 0.1, 0.05, 0.03]  # per energy bin; 1 TeV picks 0.1
    psf = irf_hdu("PSF", {"SCALE": (per_bin([1, 1, 1, 1]), ""), "SIGMA_1": (per_bin(sigma), "deg"),
                          "AMPL_2": (per_bin([0] * 4), ""), "SIGMA_2": (per_bin([0] * 4), "deg"),
                          "AMPL_3": (per_bin([0] * 4), ""), "SIGMA_3": (per_bin([0] * 4), "deg")})
    assert psf_fwhm_arcsec(psf) == pytest.approx(FWHM_PER_SIGMA * 0.1 * 3600, rel=1e-6)


def test_3gauss_two_gaussians_half_maximum():
    psf = irf_hdu("PSF", {"SCALE": (per_bin([1] * 4), ""), "SIGMA_1": (per_bin([0.05] * 4), "deg"),
                          "AMPL_2": (per_bin([0.5] * 4), ""), "SIGMA_2": (per_bin([0.2] * 4), "deg"),
                          "AMPL_3": (per_bin([0] * 4), ""), "SIGMA_3": (per_bin([0] * 4), "deg")})
    r = psf_fwhm_arcsec(psf) / 3600 / 2

    def profile(x):
        return math.exp(-x * x / (2 * 0.05 ** 2)) + 0.5 * math.exp(-x * x / (2 * 0.2 ** 2))

    assert profile(r) == pytest.approx(profile(0) / 2, rel=1e-6)


def test_king():
    gamma, sigma = 2.0, 0.04
    psf = irf_hdu("PSF", {"GAMMA": (per_bin([gamma] * 4), ""), "SIGMA": (per_bin([sigma] * 4), "deg")})
    # (1 + r²/(2γσ²))^-γ = 1/2  ⇔  r = σ √(2γ(2^(1/γ) − 1))
    expected = 2 * sigma * math.sqrt(2 * gamma * (2 ** (1 / gamma) - 1)) * 3600
    assert psf_fwhm_arcsec(psf) == pytest.approx(expected, rel=1e-6)  # σ is stored as float32


def test_psf_table_of_a_gaussian():
    sigma = 0.1
    edges = np.linspace(0, 1.0, 501)
    centres = (edges[:-1] + edges[1:]) / 2
    profile = np.exp(-centres ** 2 / (2 * sigma ** 2))
    rpsf = np.zeros((len(centres), 2, 4))
    rpsf[:, :, 1] = profile[:, None]  # only the 1 TeV bin has a PSF
    psf = irf_hdu("PSF", {"RAD_LO": (edges[:-1], "deg"), "RAD_HI": (edges[1:], "deg"), "RPSF": (rpsf, "sr-1")})
    # half of the value in the first RAD bin (centre 0.001°), interpolated between bin centres
    assert psf_fwhm_arcsec(psf) == pytest.approx(FWHM_PER_SIGMA * sigma * 3600, rel=2e-3)
    # an empty bin has no FWHM
    assert psf_fwhm_arcsec(psf, energy=5.0) is None


def test_edisp_resolving_power_with_etrue_columns():
    migra_edges = np.linspace(0.0, 3.0, 601)
    centres = (migra_edges[:-1] + migra_edges[1:]) / 2
    pdf = np.exp(-(centres - 1.0) ** 2 / (2 * 0.1 ** 2))
    matrix = np.zeros((2, len(centres), 4))
    matrix[:, :, 1] = pdf[None, :]
    edisp = irf_hdu("EDISP", {"MIGRA_LO": (migra_edges[:-1], ""), "MIGRA_HI": (migra_edges[1:], ""),
                              "MATRIX": (matrix, "")}, energy_names=("ETRUE_LO", "ETRUE_HI"))
    assert edisp_resolving_power(edisp) == pytest.approx(1 / (FWHM_PER_SIGMA * 0.1), rel=2e-3)
    assert edisp_resolving_power(edisp, energy=5.0) is None


def aeff_hdu(hduclas3, **keywords):
    return irf_hdu("AEFF", {"EFFAREA": (per_bin([1.0] * 4), "m2")},
                   {"HDUCLAS1": "RESPONSE", "HDUCLAS2": "EFF_AREA", "HDUCLAS3": hduclas3, **keywords})


def test_full_enclosure_summary():
    psf = irf_hdu("PSF", {"GAMMA": (per_bin([2.0] * 4), ""), "SIGMA": (per_bin([0.04] * 4), "deg")})
    summary = summarise_irfs({"aeff": aeff_hdu("FULL-ENCLOSURE", LO_THRES=0.3, HI_THRES=50.0, CONFIG="cfg"),
                              "psf": psf})
    assert summary.irf_class == "full-enclosure"
    assert (summary.lo_thres, summary.hi_thres, summary.irf_config) == (0.3, 50.0, "cfg")
    assert summary.max_offset == 2.0
    assert summary.rad_max is None and summary.s_resolution > 0


def test_point_like_with_rad_max_keyword_has_no_resolution():
    psf = irf_hdu("PSF", {"GAMMA": (per_bin([2.0] * 4), ""), "SIGMA": (per_bin([0.04] * 4), "deg")})
    summary = summarise_irfs({"aeff": aeff_hdu("POINT-LIKE", RAD_MAX=0.1), "psf": psf})
    assert summary.irf_class == "point-like"
    assert summary.rad_max == 0.1
    assert summary.s_resolution is None
    assert summary.max_offset is None  # the FoV comes from elsewhere for point-like IRFs


@pytest.mark.parametrize("values,expected", [([0.1] * 4, 0.1), ([0.3, 0.2, 0.1, 0.1], None)])
def test_point_like_with_rad_max_table(values, expected):
    table = irf_hdu("RAD_MAX", {"RAD_MAX": (per_bin(values), "deg")},
                    {"HDUCLAS2": "RAD_MAX", "HDUCLAS3": "POINT-LIKE"})
    summary = summarise_irfs({"aeff": aeff_hdu("POINT-LIKE"), "rad_max": table})
    assert summary.rad_max == (pytest.approx(expected) if expected else None)


def test_psf_of_unknown_format_is_an_error():
    psf = irf_hdu("PSF", {"WHATEVER": (per_bin([1.0] * 4), "")})
    with pytest.raises(IngestError, match="PSF_TABLE"):
        psf_fwhm_arcsec(psf)


def test_real_irfs(hess_collection, cta_collection):
    """The spec's worked values (≈443", ≈2.96 for H.E.S.S. 23523; ≈286", ≈7.14 for CTA 1DC 110380)."""
    from ingest.fitsfiles import FitsFiles
    from ingest.hdu_index import locate_hdu, read_hdu_index
    for collection, obs_id, resolution, power in ((hess_collection, "23523", 443, 2.96),
                                                  (cta_collection, "110380", 286, 7.14)):
        index = read_hdu_index(collection.hdu_index_path)
        with FitsFiles() as files:
            hdus = {e.hdu_type: locate_hdu(e, files) for e in index.entries_for(obs_id)}
            summary = summarise_irfs(hdus)
        assert summary.s_resolution == pytest.approx(resolution, rel=0.01)
        assert summary.em_res_power == pytest.approx(power, rel=0.01)
