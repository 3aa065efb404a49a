"""Observing modes of the HE ObsCore extension, derived from the GADF OBS_MODE and pointing keywords.

GADF OBS_MODE values: POINTING, WOBBLE, RASTER, SLEW, SCAN, DRIFT (spec §2).
"""

import math

# spec §2 [choice]: wobble (offset) pointings are "on-the-fly-cross-map"; survey grids "raster-map";
# a drift scan (the sky moving through a fixed field: HAWC, LHAASO) "drift-scan".
SCAN_MODE_OF_OBS_MODE = {"WOBBLE": "on-the-fly-cross-map", "RASTER": "raster-map", "SCAN": "raster-map",
                         "DRIFT": "drift-scan"}
# A POINTING run whose target is further than this from the pointing is an offset pointing.
OFFSET_POINTING_MIN_DEG = 0.1


def obs_mode(header_obs_mode, has_pointing):
    """OBS_MODE upper-cased; absent → POINTING when the file gives a pointing position, else None."""
    if header_obs_mode:
        return str(header_obs_mode).strip().upper()
    return "POINTING" if has_pointing else None


def tracking_mode(mode):
    """'sidereal', except for DRIFT runs, which keep a fixed alt-az and let the sky pass."""
    if mode is None:
        return None
    return "fixed-az-el-transit" if mode == "DRIFT" else "sidereal"


def scan_mode(mode, target_offset_deg=None):
    """on-the-fly-cross-map for wobble/offset pointings, raster-map for survey grids, drift-scan for drift
    scans, else on-source."""
    if mode is None:
        return None
    if mode in SCAN_MODE_OF_OBS_MODE:
        return SCAN_MODE_OF_OBS_MODE[mode]
    if mode == "POINTING" and target_offset_deg is not None and target_offset_deg > OFFSET_POINTING_MIN_DEG:
        return "on-the-fly-cross-map"
    return "on-source"


def pointing_mode(conv_dep):
    """Array pointing mode from CONV_DEP, the convergence depth: 0 or absent is parallel pointing;
    positive depths converge, negative ones diverge (no angle is known, so none is appended)."""
    if conv_dep is None or conv_dep == 0 or (isinstance(conv_dep, float) and math.isnan(conv_dep)):
        return "parallel"
    return "convergent" if conv_dep > 0 else "divergent"


def analysis_mode(ev_class, irf_config, header_irf):
    """EV_CLASS, else the AEFF CONFIG, else the IRF name the header (or obs-index) gives."""
    for value in (ev_class, irf_config, header_irf):
        if value:
            return str(value)
    return None
