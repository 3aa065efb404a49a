"""What the ingest needs from the instrument response functions (GADF "IRFs").

- AEFF: IRF class (HDUCLAS3), configuration (CONFIG), safe energy thresholds (LO_THRES/HI_THRES),
  the largest offset it covers (THETA_HI, for the field of view of full-enclosure IRFs).
- PSF: its FWHM at the reference energy and offset, for s_resolution (spec §4.6), from any of the three
  GADF formats, told apart by their columns: PSF_TABLE (RPSF), PSF_3GAUSS (SCALE, SIGMA_1..3), PSF_KING
  (GAMMA, SIGMA).
- EDISP: the energy resolving power 1/FWHM(migra) at the reference energy and offset (spec §4.7).
- RAD_MAX: the on-region radius of point-like IRFs, a header keyword or a RAD_MAX_2D table.

Everything is evaluated in one bin of each axis, no interpolation: the energy bin with
ENERG_LO < E_ref <= ENERG_HI, and the offset bin holding the reference offset, else the one whose centre
is nearest (H.E.S.S. DR1 gives offsets as points, THETA_LO = THETA_HI). These rules reproduce the spec's
worked values (443" and 2.98 for H.E.S.S. 23523; 286" and 7.14 for CTA 1DC 110380).
IRF tables have a single row; their array columns are [offset, energy] (numpy order) for PSF parameters
and RAD_MAX, [rad, offset, energy] for RPSF, [offset, migra, energy] for the EDISP MATRIX.
"""

import math
from dataclasses import dataclass

import astropy.units as u
import numpy as np

from .values import as_float, as_str, plain

# HDU_CLASS of IRFs given as maps (HEALPix or WCS images with a bands table: HAWC, gammapy's
# IRF maps), which gammapy reads as maps; the ingest takes no values from them (spec §7: s_resolution
# and em_res_power stay NULL), it only checks and links them.
MAP_CLASSES = frozenset({"map", "edisp_kernel_map", "edisp_map", "psf_map", "psf_map_reco"})

REFERENCE_ENERGY_TEV = 1.0
REFERENCE_OFFSET_DEG = 0.5
# 2 sqrt(2 ln 2): the FWHM of a Gaussian in units of its sigma
GAUSS_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


@dataclass(frozen=True)
class IrfSummary:
    irf_class: str = None  # 'full-enclosure' or 'point-like' (AEFF HDUCLAS3, lower case)
    irf_config: str = None  # AEFF CONFIG
    lo_thres: float = None  # TeV, AEFF LO_THRES
    hi_thres: float = None  # TeV, AEFF HI_THRES
    max_offset: float = None  # deg, largest THETA_HI of a full-enclosure AEFF
    rad_max: float = None  # deg, constant on-region radius of a point-like IRF
    s_resolution: float = None  # arcsec, PSF FWHM
    em_res_power: float = None  # E/dE from the EDISP


def summarise_irfs(irf_hdus, energy=REFERENCE_ENERGY_TEV, offset=REFERENCE_OFFSET_DEG):
    """The IrfSummary of the IRF tables of an observation, a dict hdu_type -> LocatedHdu (any may be
    absent; map IRFs are left out by the caller: ObservationHdus.table_irfs)."""
    aeff, psf, edisp = irf_hdus.get("aeff"), irf_hdus.get("psf"), irf_hdus.get("edisp")
    irf_class = _irf_class(aeff, psf, edisp)
    point_like = irf_class == "point-like"
    values = {"irf_class": irf_class}
    if aeff is not None:
        values["irf_config"] = as_str(aeff.optional("CONFIG"))
        values["lo_thres"] = as_float(aeff.optional("LO_THRES"))
        values["hi_thres"] = as_float(aeff.optional("HI_THRES"))
        if irf_class == "full-enclosure":
            values["max_offset"] = float(np.max(offset_axis(aeff)[1]))
    if point_like:
        values["rad_max"] = _rad_max(aeff, irf_hdus.get("rad_max"))
    elif psf is not None:
        values["s_resolution"] = psf_fwhm_arcsec(psf, energy, offset)
    if edisp is not None:
        values["em_res_power"] = edisp_resolving_power(edisp, energy, offset)
    return IrfSummary(**values)


def _irf_class(*hdus):
    """'full-enclosure' / 'point-like' from HDUCLAS3, the AEFF's first (it is the one GADF requires)."""
    for hdu in hdus:
        if hdu is not None and hdu.optional("HDUCLAS3"):
            return str(hdu.optional("HDUCLAS3")).lower()
    return None


# ---- axes and bins


def energy_axis(hdu):
    """(lo, hi) in TeV of the true-energy axis: ENERG_LO/HI, or ETRUE_LO/HI in older files."""
    for lo_name, hi_name in (("ENERG_LO", "ENERG_HI"), ("ETRUE_LO", "ETRUE_HI")):
        if lo_name in hdu.columns:
            return _axis(hdu, lo_name, "TeV"), _axis(hdu, hi_name, "TeV")
    raise hdu.error("missing mandatory column (nor ETRUE_LO)", "ENERG_LO")


def offset_axis(hdu):
    """(lo, hi) in deg of the field-of-view offset axis THETA_LO/HI."""
    return _axis(hdu, "THETA_LO", "deg"), _axis(hdu, "THETA_HI", "deg")


def _axis(hdu, name, unit):
    values = np.asarray(hdu.column(name)[0], dtype=float).ravel()
    return values * _factor(hdu, name, unit)


def _factor(hdu, column, unit):
    """Factor from the column's TUNIT to `unit` (1 when the column has no unit: GADF's default)."""
    column_unit = hdu.column_unit(column)
    if not column_unit:
        return 1.0
    try:
        return u.Unit(column_unit).to(unit)
    except (ValueError, u.UnitsError):
        raise hdu.error(f"unit {column_unit!r} is not convertible to {unit}", column) from None


def energy_bin(lo, hi, energy):
    """Index of the bin with lo < energy <= hi; the first or last bin outside the axis."""
    return int(np.clip(np.searchsorted(hi, energy, side="left"), 0, len(hi) - 1))


def offset_bin(lo, hi, offset):
    """Index of the bin holding the offset, else of the bin whose centre is nearest to it."""
    inside = np.nonzero((lo <= offset) & (offset < hi))[0]
    if len(inside):
        return int(inside[0])
    return int(np.argmin(np.abs((lo + hi) / 2.0 - offset)))


def _array(hdu, name, shape):
    """An IRF array column in numpy axis order `shape`: FITS files without TDIM give it flat."""
    values = np.asarray(hdu.column(name)[0], dtype=float)
    if values.shape == tuple(shape):
        return values
    if values.size == int(np.prod(shape)):
        return values.reshape(shape)
    raise hdu.error(f"shape {values.shape} does not match the axes {tuple(shape)}", name)


# ---- PSF


def psf_fwhm_arcsec(hdu, energy=REFERENCE_ENERGY_TEV, offset=REFERENCE_OFFSET_DEG):
    """FWHM in arcsec of the PSF at (energy TeV, offset deg), or None when the IRF has no value there."""
    e_lo, e_hi = energy_axis(hdu)
    t_lo, t_hi = offset_axis(hdu)
    i_energy, i_offset = energy_bin(e_lo, e_hi, energy), offset_bin(t_lo, t_hi, offset)
    columns = hdu.columns
    if "RPSF" in columns:
        fwhm = _table_psf_fwhm(hdu, i_energy, i_offset, len(e_lo), len(t_lo))
    elif "GAMMA" in columns:
        fwhm = _king_psf_fwhm(hdu, i_energy, i_offset, len(e_lo), len(t_lo))
    elif "SCALE" in columns:
        fwhm = _gauss_psf_fwhm(hdu, i_energy, i_offset, len(e_lo), len(t_lo))
    else:
        raise hdu.error("not a PSF_TABLE, PSF_3GAUSS or PSF_KING table (no RPSF, SCALE or GAMMA column)")
    return None if fwhm is None else fwhm * 3600.0


def _table_psf_fwhm(hdu, i_energy, i_offset, n_energy, n_offset):
    """PSF_TABLE: twice the radius where RPSF falls to half its value in the first RAD bin."""
    r_lo, r_hi = _axis(hdu, "RAD_LO", "deg"), _axis(hdu, "RAD_HI", "deg")
    centres = (r_lo + r_hi) / 2.0
    profile = _array(hdu, "RPSF", (len(r_lo), n_offset, n_energy))[:, i_offset, i_energy]
    half = profile[0] / 2.0
    below = np.nonzero(profile < half)[0]
    if not profile[0] > 0 or not len(below) or below[0] == 0:
        return None  # no PSF in this bin, or wider than the table
    i = below[0]
    radius = np.interp(half, [profile[i], profile[i - 1]], [centres[i], centres[i - 1]])
    return 2.0 * float(radius)


def _gauss_psf_fwhm(hdu, i_energy, i_offset, n_energy, n_offset):
    """PSF_3GAUSS: S/pi [exp(-r²/2σ1²) + A2 exp(-r²/2σ2²) + A3 exp(-r²/2σ3²)]; half maximum by bisection."""
    shape = (n_offset, n_energy)

    def parameter(*names):
        for name in names:
            if name in hdu.columns:
                return float(_array(hdu, name, shape)[i_offset, i_energy]) * _factor(hdu, name, "deg")
        raise hdu.error("missing mandatory column", names[0])

    sigmas = [parameter("SIGMA_1", "SIGMA1"), parameter("SIGMA_2", "SIGMA2"), parameter("SIGMA_3", "SIGMA3")]
    amplitudes = [1.0, _plain_parameter(hdu, "AMPL_2", shape, i_offset, i_energy),
                  _plain_parameter(hdu, "AMPL_3", shape, i_offset, i_energy)]
    # A Gaussian with zero sigma or zero amplitude is absent (GADF: single and double Gaussians).
    terms = [(a, s) for a, s in zip(amplitudes, sigmas) if a > 0 and s > 0]
    if not terms:
        return None

    def profile(r):
        return sum(a * math.exp(-r * r / (2.0 * s * s)) for a, s in terms)

    return 2.0 * _half_radius(profile, max(s for _, s in terms))


def _plain_parameter(hdu, name, shape, i_offset, i_energy):
    return float(_array(hdu, name, shape)[i_offset, i_energy]) if name in hdu.columns else 0.0


def _half_radius(profile, scale):
    """The radius where a decreasing profile falls to half its value at 0 (bisection to 1e-9 relative)."""
    half, low, high = profile(0.0) / 2.0, 0.0, 10.0 * scale
    while high - low > 1e-9 * scale:
        middle = (low + high) / 2.0
        low, high = (middle, high) if profile(middle) > half else (low, middle)
    return (low + high) / 2.0


def _king_psf_fwhm(hdu, i_energy, i_offset, n_energy, n_offset):
    """PSF_KING: (1 + r²/(2γσ²))^-γ = 1/2 at r = σ sqrt(2γ (2^(1/γ) - 1))."""
    shape = (n_offset, n_energy)
    gamma = float(_array(hdu, "GAMMA", shape)[i_offset, i_energy])
    sigma = float(_array(hdu, "SIGMA", shape)[i_offset, i_energy]) * _factor(hdu, "SIGMA", "deg")
    if not (gamma > 0 and sigma > 0):
        return None
    return 2.0 * sigma * math.sqrt(2.0 * gamma * (2.0 ** (1.0 / gamma) - 1.0))


# ---- EDISP


def edisp_resolving_power(hdu, energy=REFERENCE_ENERGY_TEV, offset=REFERENCE_OFFSET_DEG):
    """1 / FWHM of the migration (E_reco / E_true) pdf at (energy TeV, offset deg), or None if it is empty."""
    e_lo, e_hi = energy_axis(hdu)
    t_lo, t_hi = offset_axis(hdu)
    m_lo, m_hi = _axis(hdu, "MIGRA_LO", ""), _axis(hdu, "MIGRA_HI", "")
    matrix = _array(hdu, "MATRIX", (len(t_lo), len(m_lo), len(e_lo)))
    pdf = matrix[offset_bin(t_lo, t_hi, offset), :, energy_bin(e_lo, e_hi, energy)]
    width = fwhm((m_lo + m_hi) / 2.0, pdf)
    return None if not width else 1.0 / width


def fwhm(x, y):
    """Full width at half maximum of a sampled peak, half-maximum crossings interpolated linearly."""
    if not np.max(y) > 0:
        return None
    peak = int(np.argmax(y))
    half = y[peak] / 2.0
    left = peak
    while left > 0 and y[left - 1] >= half:
        left -= 1
    right = peak
    while right < len(y) - 1 and y[right + 1] >= half:
        right += 1
    x_left = x[0] if left == 0 else np.interp(half, [y[left - 1], y[left]], [x[left - 1], x[left]])
    x_right = x[-1] if right == len(y) - 1 else np.interp(half, [y[right + 1], y[right]],
                                                          [x[right + 1], x[right]])
    return float(x_right - x_left)


# ---- RAD_MAX


def _rad_max(aeff, rad_max_hdu):
    """Constant on-region radius (deg) of a point-like IRF: AEFF RAD_MAX keyword, else a RAD_MAX_2D
    table whose values are all equal. An energy-dependent radius has no single value: None."""
    if aeff is not None and as_float(aeff.optional("RAD_MAX")) is not None:
        return as_float(aeff.optional("RAD_MAX"))
    if rad_max_hdu is None:
        return None
    values = np.asarray(rad_max_hdu.column("RAD_MAX")[0])
    if values.size and np.all(values == values.flat[0]):
        # plain(): a float32 0.1 is published as 0.1, not as 0.10000000149011612
        return plain(values.flat[0]) * _factor(rad_max_hdu, "RAD_MAX", "deg")
    return None
