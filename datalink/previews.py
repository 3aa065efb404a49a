"""PNG previews of an observation's events: a counts map around the pointing and counts per energy.

Drawn with matplotlib's object API (no pyplot): DaCHS runs requests in threads, and pyplot's global
state is not thread-safe.  The PNGs carry no date, so a rebuilt preview has the same bytes.
"""

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

MAP_HALF_WIDTH_DEG = 3.0
MAP_BINS = 120
DPI = 80


def _png(figure):
    FigureCanvasAgg(figure)
    out = io.BytesIO()
    # No Software/date metadata beyond what is fixed: stable bytes.
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _column(events, *names):
    for name in names:
        if name in events.columns:
            return np.asarray(events.column(name), dtype=float)
    return None


def _title(events, obs_id):
    obj = events.header.get("OBJECT")
    return f"Observation {obs_id}" + (f" ({obj})" if obj else "")


def counts_map(events, obs_id):
    """#preview-image: counts in a gnomonic projection centred on the pointing (RA_PNT, DEC_PNT), or
    on the events' mean position where there is none (a drift scan)."""
    ra, dec = _column(events, "RA"), _column(events, "DEC")
    ra0 = float(events.header.get("RA_PNT", np.nanmean(ra) if ra is not None else 0.0))
    dec0 = float(events.header.get("DEC_PNT", np.nanmean(dec) if dec is not None else 0.0))
    figure = Figure(figsize=(5, 4.4))
    axes = figure.add_subplot()
    if ra is not None and dec is not None:
        x, y = _gnomonic(ra, dec, ra0, dec0)
        edges = np.linspace(-MAP_HALF_WIDTH_DEG, MAP_HALF_WIDTH_DEG, MAP_BINS + 1)
        counts, _, _ = np.histogram2d(x, y, bins=(edges, edges))
        image = axes.imshow(counts.T, origin="lower", cmap="inferno", interpolation="nearest",
                            extent=(MAP_HALF_WIDTH_DEG, -MAP_HALF_WIDTH_DEG,
                                    -MAP_HALF_WIDTH_DEG, MAP_HALF_WIDTH_DEG))
        figure.colorbar(image, ax=axes, label="counts")
    axes.set_xlabel(f"offset in RA from {ra0:.2f} (deg, east left)")
    axes.set_ylabel(f"offset in Dec from {dec0:.2f} (deg)")
    axes.set_title(_title(events, obs_id), fontsize=10)
    return _png(figure)


def _gnomonic(ra, dec, ra0, dec0):
    """Tangent-plane offsets (deg) of (ra, dec) from (ra0, dec0); x grows to the east."""
    ra, dec, ra0, dec0 = map(np.radians, (ra, dec, ra0, dec0))
    cos_c = np.sin(dec0) * np.sin(dec) + np.cos(dec0) * np.cos(dec) * np.cos(ra - ra0)
    x = np.cos(dec) * np.sin(ra - ra0) / cos_c
    y = (np.cos(dec0) * np.sin(dec) - np.sin(dec0) * np.cos(dec) * np.cos(ra - ra0)) / cos_c
    return np.degrees(x), np.degrees(y)


def energy_histogram(events, obs_id):
    """#preview-plot: counts per logarithmic energy bin."""
    energy = _column(events, "ENERGY")
    figure = Figure(figsize=(5, 3.6))
    axes = figure.add_subplot()
    if energy is not None and np.any(energy > 0):
        positive = energy[energy > 0]
        edges = np.logspace(np.log10(positive.min()), np.log10(positive.max()), 41)
        axes.hist(positive, bins=edges, histtype="step", color="tab:blue")
        axes.set_xscale("log")
        axes.set_yscale("log")
    unit = events.column_unit("ENERGY") or "TeV"
    axes.set_xlabel(f"reconstructed energy ({unit})")
    axes.set_ylabel("counts per bin")
    axes.set_title(_title(events, obs_id), fontsize=10)
    figure.tight_layout()
    return _png(figure)
