"""One observation's row of the collection table, built from its GADF HDUs (HE-OBSCORE-SPEC §1–§4).

`locate_observation` finds the HDUs the hdu-index lists for an observation; `observation_row` turns them,
the obs-index row and the configuration into a dict with exactly the columns of the collection table
(schemas/columns.yaml), every value a plain Python value or None.
"""

import collections
import datetime
import math
import re
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np

from . import agreement, modes, sky
from .columns import collection_columns
from .datasets import publisher_did
from .errors import IngestError
from .fitsfiles import COMMENTARY
from .hdu_index import locate_hdu, normalise_obs_id
from .irf import MAP_CLASSES, REFERENCE_ENERGY_TEV, REFERENCE_OFFSET_DEG, summarise_irfs
from .obs_index import IndexRow
from .payload import event_list_kbytes
from .site import site_columns
from .times import check_intervals, read_time_reference, utc_mjd
from .tmoc import gti_tmoc
from .values import as_float, as_int, as_str, parse_datetime, plain, shown

IRF_TYPES = ("aeff", "edisp", "psf", "bkg", "rad_max")
EVENT_LIST_TYPES = ("events", "gti", "pointing")  # what the #this event-list file holds

# GADF obs-index columns (spec §3): column -> keywords, looked up in the EVENTS header first and in the
# obs-index row second (both spellings of DATE-OBS and friends occur).
GADF_KEYWORDS = {
    "ra_pnt": ("RA_PNT",), "dec_pnt": ("DEC_PNT",), "glon_pnt": ("GLON_PNT",), "glat_pnt": ("GLAT_PNT",),
    "alt_pnt": ("ALT_PNT",), "az_pnt": ("AZ_PNT",), "zen_pnt": ("ZEN_PNT",),
    "date_obs": ("DATE-OBS", "DATE_OBS"), "time_obs": ("TIME-OBS", "TIME_OBS"),
    "date_end": ("DATE-END", "DATE_END"), "time_end": ("TIME-END", "TIME_END"),
    "ontime": ("ONTIME",), "livetime": ("LIVETIME",), "deadc": ("DEADC",),
    "n_tels": ("N_TELS",), "tellist": ("TELLIST",), "quality": ("QUALITY",), "object": ("OBJECT",),
    "ra_obj": ("RA_OBJ",), "dec_obj": ("DEC_OBJ",),
    "safe_energy_lo": ("SAFE_ENERGY_LO",), "safe_energy_hi": ("SAFE_ENERGY_HI",),
    "muoneff": ("MUONEFF",), "bkg_scale": ("BKG_SCALE",), "trgrate": ("TRGRATE",), "ztrgrate": ("ZTRGRATE",),
    "brokpix": ("BROKPIX",), "airtemp": ("AIRTEMP",), "pressure": ("PRESSURE",), "nsblevel": ("NSBLEVEL",),
    "relhum": ("RELHUM",),
}
TEXT_GADF_COLUMNS = {"date_obs", "time_obs", "date_end", "time_end", "tellist", "object"}
INTEGER_GADF_COLUMNS = {"n_tels", "quality"}
# Pointing keywords and the values they can take: RA beyond [0, 360) occurs (normalised for s_ra), a
# further turn is damage; DEC beyond the poles is no position at all.
POINTING_RANGES = {"ra_pnt": ("RA_PNT", -360.0, 720.0), "dec_pnt": ("DEC_PNT", -90.0, 90.0)}


@dataclass
class ObservationHdus:
    """The HDUs of one dataset (an observation, or an event subset of one), located through the hdu-index."""

    obs_id: str
    events: object  # LocatedHdu
    gti: object = None
    pointing: object = None
    irfs: dict = field(default_factory=dict)  # hdu_type -> LocatedHdu
    irf_entries: tuple = ()  # the hdu-index entries of the IRFs (a cache key for shared IRF files)
    dataset: str = None  # the dataset key (ingest/datasets.py); the obs_id where None
    subset: str = ""  # the event subset ('GP-5'), '' for a whole observation

    def __post_init__(self):
        self.dataset = self.dataset or self.obs_id

    def map_irfs(self):
        """The hdu_types of the IRFs given as maps (HDU_CLASS map, edisp_kernel_map, psf_map_reco)."""
        return {e.hdu_type for e in self.irf_entries if e.hdu_class in MAP_CLASSES}

    def table_irfs(self):
        """The IRFs given as GADF tables, the ones summarise_irfs reads values from."""
        maps = self.map_irfs()
        return {t: hdu for t, hdu in self.irfs.items() if t not in maps}


def locate_observation(obs_id, entries, fits_files, index_path=None):
    """Locates every HDU the index lists for a dataset (entries: HduIndex.entries_for): a missing file
    or HDU is an IngestError."""
    located = {}
    for entry in entries:
        # The first row of a type wins; every row must still point to an existing HDU.
        hdu = locate_hdu(entry, fits_files)
        if entry.hdu_type in IRF_TYPES and entry.hdu_class not in MAP_CLASSES and not hdu.is_table:
            raise hdu.error(f"{hdu.kind} where a binary table was expected (hdu-index row "
                            f"{entry.row}: HDU_CLASS {entry.hdu_class!r}; map IRFs have HDU_CLASS "
                            f"{', '.join(sorted(MAP_CLASSES))})")
        located.setdefault(entry.hdu_type, hdu)
    if "events" not in located:
        raise IngestError(f"the hdu-index lists no events HDU for OBS_ID {obs_id}", index_path)
    irf_entries = tuple(entry for entry in entries if entry.hdu_type in IRF_TYPES)
    return ObservationHdus(obs_id=obs_id, events=located["events"], gti=located.get("gti"),
                           pointing=located.get("pointing"),
                           irfs={t: located[t] for t in IRF_TYPES if t in located}, irf_entries=irf_entries,
                           dataset=entries[0].dataset, subset=entries[0].subset)


def observation_row(hdus, obs_index_row, collection, site, irf_summary=None, obs_index_header=None, notes=None,
                    intervals=None):
    """The complete row (a dict over the collection table's columns) of one observation.

    hdus: ObservationHdus; obs_index_row: the obs-index row (an IndexRow, or a dict; {} without
    obs-index); collection, site: CollectionConfig and SiteConfig; irf_summary: an IrfSummary already
    computed for the same IRF HDUs (shared IRF files), or None; obs_index_header: the obs-index header keywords (a last resort for GEOLON/GEOLAT/
    ALTITUDE); notes: a list that receives an IngestError for each thing the files got wrong that the row
    works around (a placeholder dropped, a fallback used), or None; intervals: a list that receives the
    good time intervals as (start, stop) MJD UTC pairs (the rows of the GTI table), or None.
    """
    notes = [] if notes is None else notes
    if not isinstance(obs_index_row, IndexRow):
        obs_index_row = IndexRow(obs_index_row)
    events = hdus.events
    obs_id = hdus.obs_id
    _check_obs_id(events, obs_id, notes)
    _check_event_count(events)
    _note_duplicate_keywords(hdus, notes)
    if irf_summary is None:
        irf_summary = summarise_irfs(hdus.table_irfs())
    sources = {}  # column -> the source (EVENTS header or obs-index row) of its value
    gadf = gadf_columns(events, obs_index_row, notes, sources)
    row = {}
    row.update(_identity(hdus, collection, site))
    row.update(gadf)
    row.update(_time_columns(hdus, gadf, notes, [] if intervals is None else intervals))
    row.update(_energy_columns(events, irf_summary, obs_index_row, hdus.subset))
    row.update(_mode_columns(events, gadf, irf_summary, collection, obs_index_row, hdus.subset))
    _check_pointing(events, obs_index_row, gadf, sources, row["obs_mode"])
    _check_agreement(events, obs_index_row, obs_index_header or {}, collection, notes)
    row.update(_space_columns(events, gadf, irf_summary, collection, notes))
    row.update(_provenance_columns(events, irf_summary, obs_index_row))
    row.update(site_columns(events, collection, obs_index_header or {}, gadf,
                            (row["t_min"] + row["t_max"]) / 2.0, notes))
    row.update(_curation_columns(hdus, events, collection, site, gadf))
    row["access_estsize"] = event_list_kbytes(
        [hdu for hdu in (hdus.events, hdus.gti, hdus.pointing) if hdu is not None])
    return _complete(row, collection, events)


# ---- identity and constants


def _check_obs_id(events, obs_id, notes):
    """The EVENTS header's OBS_ID (GADF: mandatory; int, float or string) must be the one the hdu-index
    files it under. A header OBS_ID that is no number at all is a description, not an identifier (HAWC:
    'chunks 103 - 133' for OBS_ID 103000133): the hdu-index's identifies the observation, a note says so."""
    header_obs_id = events.mandatory("OBS_ID")
    try:
        number = normalise_obs_id(header_obs_id)
    except ValueError:
        notes.append(events.error(f"{shown(header_obs_id)} is not a number: the hdu-index's OBS_ID {obs_id} "
                                  "identifies the observation", "OBS_ID"))
        return
    if number != obs_id:
        raise events.error(f"{shown(header_obs_id)} in the header, {obs_id} in the hdu-index", "OBS_ID")


def _check_event_count(events):
    """An event list without events has no energy range nor anything else to publish."""
    if int(events.mandatory("NAXIS2")) == 0:
        raise events.error("the event list is empty (0 events)", "NAXIS2")


def _note_duplicate_keywords(hdus, notes):
    """A keyword written twice in the EVENTS or GTI header: the first value is used (as CFITSIO does)."""
    for hdu in (hdus.events, hdus.gti):
        if hdu is None:
            continue
        counts = collections.Counter(key for key in hdu.header.keywords if key not in COMMENTARY)
        for key, count in counts.items():
            if count > 1:
                notes.append(hdu.error(f"written {count} times: the first value, {shown(hdu.optional(key))}, is used",
                                       key))


def _identity(hdus, collection, site):
    return {
        "obs_id": hdus.obs_id,
        "obs_publisher_did": publisher_did(site.authority, collection.schema, hdus.dataset),
        "obs_collection": collection.obs_collection,
        "obs_creator_did": None,
        "dataproduct_type": "event-list",
        "dataproduct_subtype": "GADF DL3",
        "calib_level": 2,
        "access_format": "application/x-votable+xml;content=datalink",
        # not pixelated along any axis (spec §1: NULL or -1, consistently: -1)
        "s_xel1": -1, "s_xel2": -1, "t_xel": -1, "em_xel": -1, "pol_xel": -1,
        "s_pixel_scale": None, "o_ucd": None, "pol_states": None,
        "s_calib_status": "calibrated", "t_calib_status": "calibrated", "em_calib_status": "calibrated",
        "s_ref_energy": REFERENCE_ENERGY_TEV * 1e12, "em_ref_energy": REFERENCE_ENERGY_TEV * 1e12,
        "s_ref_oaa": REFERENCE_OFFSET_DEG, "em_ref_oaa": REFERENCE_OFFSET_DEG,
        "messenger_name": "photon", "messenger_pdgid": "+22",
        "t_resolution": None,  # no GADF keyword (spec §1): only a `defaults:` value fills it
    }


# ---- GADF obs-index columns


def gadf_columns(events, obs_index_row, notes=None, sources=None):
    """The GADF obs-index columns (spec §3), placeholders removed (spec §5: they are not facts);
    sources receives where each comes from (agreement.choose)."""
    notes = [] if notes is None else notes
    values = {}
    for column, value in agreement.choose(events, obs_index_row, GADF_KEYWORDS, notes, sources).items():
        if column in TEXT_GADF_COLUMNS:
            values[column] = as_str(value)
        elif column in INTEGER_GADF_COLUMNS:
            values[column] = as_int(value)
        else:
            values[column] = as_float(value)
    _drop_placeholders(values, events, notes)
    return values


def _check_agreement(events, obs_index_row, obs_index_header, collection, notes):
    """The header and the obs-index row must agree where both speak (ingest/agreement.py)."""
    try:
        reference = read_time_reference(events)
    except IngestError:
        reference = None  # the times are not compared; _time_columns says what is wrong
    problems = agreement.disagreements(events, obs_index_row, obs_index_header, reference)
    if not problems:
        return
    if collection.on_disagreement == "prefer_header":
        notes.extend(problems)
        return
    first = problems[0]
    more = f" (and {len(problems) - 1} more: {'; '.join(str(p) for p in problems[1:])})" \
        if len(problems) > 1 else ""
    raise IngestError(first.message + more, first.path, first.hdu, first.keyword)


def _drop_placeholders(values, events, notes):
    """ALT_PNT = 90 with AZ_PNT = 0 is what simulations write when they know no horizon position (a
    zenith angle of 0 next to them comes from the same non-value); N_TELS = 0 and RA_OBJ = DEC_OBJ = 0
    likewise say "unknown"."""
    if values["alt_pnt"] == 90.0 and values["az_pnt"] == 0.0:
        values["alt_pnt"] = values["az_pnt"] = None
        if values["zen_pnt"] == 0.0:
            values["zen_pnt"] = None
        notes.append(events.error("ALT_PNT = 90 with AZ_PNT = 0 is a placeholder: not published", "ALT_PNT"))
    if values["alt_pnt"] == 0.0 and values["az_pnt"] == 0.0:
        # the horizon due north: no gamma-ray telescope observes there (HAWC's headers, which look at the zenith)
        values["alt_pnt"] = values["az_pnt"] = None
        notes.append(events.error("ALT_PNT = AZ_PNT = 0 is a placeholder: not published", "ALT_PNT"))
    if values["n_tels"] == 0:
        values["n_tels"] = None
        notes.append(events.error("N_TELS = 0 is a placeholder: not published", "N_TELS"))
    if values["ra_obj"] == 0.0 and values["dec_obj"] == 0.0:
        values["ra_obj"] = values["dec_obj"] = None
        notes.append(events.error("RA_OBJ = DEC_OBJ = 0 is a placeholder: not published", "RA_OBJ"))


def _check_pointing(events, obs_index_row, gadf, sources, mode):
    """RA_PNT/DEC_PNT: GADF requires them unless the telescopes stood still (OBS_MODE DRIFT gives ALT_PNT/
    AZ_PNT instead). A value that is not a number, or beyond POINTING_RANGES, is damage, named in the
    source the pair was taken from (sources: agreement.choose)."""
    for column, (key, low, high) in POINTING_RANGES.items():
        source = sources.get(column, events)
        raw = source.optional(key)
        if raw is None:
            if mode == "DRIFT":
                continue
            elsewhere = "; the obs-index has no value either" if obs_index_row.path else ""
            raise events.error(f"missing mandatory keyword (GADF requires it unless OBS_MODE is DRIFT{elsewhere})",
                               key)
        value = gadf[column]
        if value is None or not math.isfinite(value):
            raise source.error(f"{shown(raw)} is not a finite number", key)
        if not low <= value <= high:
            raise source.error(f"{shown(value)} is outside [{low:g}, {high:g}]", key)


# ---- time


def _time_columns(hdus, gadf, notes, intervals):
    """t_min/t_max (UTC MJD), t_exptime, t_intervals, and the GTI span in the file's own time reference;
    intervals receives every GTI as a (start, stop) pair of UTC MJDs."""
    events, gti = hdus.events, hdus.gti
    reference = _time_reference(gti, events, notes)
    _check_header_span(events, reference)
    if gti is not None:
        starts, stops = gti.column("START"), gti.column("STOP")
        seconds = (gti.column_unit("START") or None, gti.column_unit("STOP") or None)
    else:
        # No GTI in the index: the EVENTS TSTART/TSTOP are the only interval there is.
        notes.append(events.error("no GTI in the hdu-index: TSTART-TSTOP is the good time interval", "TSTART"))
        starts, stops = [events.mandatory("TSTART")], [events.mandatory("TSTOP")]
        seconds = (None, None)
    starts, stops = np.asarray(starts, dtype=float), np.asarray(stops, dtype=float)
    if not len(starts):
        raise (gti or events).error("no good time interval", "START")
    # START/STOP are in TIMEUNIT unless the columns carry their own unit.
    starts = starts * _unit_factor(seconds[0], reference.timeunit)
    stops = stops * _unit_factor(seconds[1], reference.timeunit)
    if gti is not None:
        check_intervals(gti, starts, stops, reference)
    bounds = reference.times(np.stack([starts, stops]))  # one astropy Time: one conversion of each kind
    first, last = int(np.argmin(starts)), int(np.argmax(stops))
    in_seconds = u.Unit(reference.timeunit).to(u.s)
    start_mjd, stop_mjd = utc_mjd(bounds)
    intervals.extend(zip(start_mjd, stop_mjd))
    return {
        "t_min": start_mjd[first],
        "t_max": stop_mjd[last],
        "t_exptime": _exposure(gadf, starts, stops, in_seconds),
        "t_intervals": gti_tmoc(bounds),
        "tstart": float(starts[first]) * in_seconds,
        "tstop": float(stops[last]) * in_seconds,
        "mjdrefi": reference.mjdrefi, "mjdreff": reference.mjdreff, "timesys": reference.timesys,
    }


def _check_header_span(events, reference):
    """The EVENTS TSTART/TSTOP, where both are numbers: the observation cannot end before it starts,
    nor lie outside 1960-2100. (Values that are not numbers matter only without a GTI: mandatory()
    rejects them there.)"""
    start, stop = as_float(events.optional("TSTART")), as_float(events.optional("TSTOP"))
    if start is not None and stop is not None:
        check_intervals(events, np.array([start]), np.array([stop]), reference, ("TSTART", "TSTOP"), rows=False)


def _time_reference(gti, events, notes):
    """The GTI's own time reference; GADF wants it in both HDUs, but some files only have it in EVENTS.
    Without a usable one in EVENTS either, the EVENTS error is the one reported."""
    if gti is not None:
        try:
            return read_time_reference(gti)
        except IngestError as problem:
            reference = read_time_reference(events)
            notes.append(IngestError(f"{problem.message}: the EVENTS time reference is used", problem.path,
                                     problem.hdu, problem.keyword))
            return reference
    return read_time_reference(events)


def _unit_factor(column_unit, timeunit):
    return u.Unit(column_unit).to(u.Unit(timeunit)) if column_unit else 1.0


def _exposure(gadf, starts, stops, in_seconds):
    """LIVETIME, else ONTIME × DEADC, else the summed GTIs (spec §1)."""
    if gadf["livetime"] is not None:
        return gadf["livetime"]
    if gadf["ontime"] is not None and gadf["deadc"] is not None:
        return gadf["ontime"] * gadf["deadc"]
    return float(np.sum(np.clip(stops - starts, 0.0, None))) * in_seconds


# ---- energy


def _energy_columns(events, irf_summary, obs_index_row, subset=""):
    """Safe energy range in eV: the AEFF thresholds clamped to the event energies (spec §2, §4.4)."""
    energies = np.asarray(events.column("ENERGY"))
    unit = events.column_unit("ENERGY") or as_str(events.optional("EUNIT")) or "TeV"
    try:
        to_ev = u.Unit(unit).to(u.eV)
    except (ValueError, u.UnitsError):
        raise events.error(f"unit {unit!r} is not an energy", "ENERGY") from None
    _check_energies(events, energies)
    low = [irf_summary.lo_thres * 1e12] if irf_summary.lo_thres is not None else []
    high = [irf_summary.hi_thres * 1e12] if irf_summary.hi_thres is not None else []
    if len(energies):
        # plain() keeps a float32 column's shortest decimal value (0.03000008 TeV, not 0.030000079...)
        low.append(plain(np.min(energies)) * to_ev)
        high.append(plain(np.max(energies)) * to_ev)
    energy_min = max(low) if low else None
    energy_max = min(high) if high else None
    ev_xel = int(events.mandatory("NAXIS2"))
    # The obs-index's EVENT_COUNT counts the whole observation, not one event subset of it.
    event_count = None if subset else as_int(obs_index_row.get("EVENT_COUNT"))
    return {
        "energy_min": energy_min, "energy_max": energy_max,
        "em_min": _wavelength(energy_max), "em_max": _wavelength(energy_min),
        "em_ucd": "em.energy", "em_unit": unit,
        "em_res_power": irf_summary.em_res_power,
        "ev_xel": ev_xel, "event_count": ev_xel if event_count is None else event_count,
    }


# h c in eV m, by astropy's spectral equivalence (converting each value through it costs 0.4 ms)
EV_METRES = float((1.0 * u.eV).to_value(u.m, equivalencies=u.spectral()))


def _wavelength(energy_ev):
    """ObsCore's em_min/em_max are wavelengths (m) of the photon energies (eV), or None."""
    if not energy_ev:
        return None
    return EV_METRES / energy_ev


def _check_energies(events, energies):
    """Every event needs a positive energy: NaN or <= 0 is a damaged event list (the energy range,
    published as ObsCore's em_min/em_max, comes from them)."""
    bad = np.nonzero(~(np.isfinite(energies) & (energies > 0)))[0]
    if len(bad):
        raise events.error(f"{len(bad)} of {len(energies)} events have no positive energy (row {bad[0] + 1}: "
                           f"{shown(energies[bad[0]])})", "ENERGY")


# ---- space


def _space_columns(events, gadf, irf_summary, collection, notes):
    ra_pnt, dec_pnt = gadf["ra_pnt"], gadf["dec_pnt"]
    values = {"s_ra": None, "s_dec": None, "s_fov": None, "s_region": None,
              "s_resolution": irf_summary.s_resolution}
    if ra_pnt is None or dec_pnt is None:
        values.update(_events_footprint(events, notes))
        return values
    radecsys = as_str(events.optional("RADECSYS")) or as_str(events.optional("RADESYS"))
    s_ra, s_dec = sky.pointing_icrs(ra_pnt, dec_pnt, radecsys, as_float(events.optional("EQUINOX")))
    radius = fov_radius(events, irf_summary, collection, ra_pnt, dec_pnt)
    values.update(s_ra=s_ra, s_dec=s_dec)
    if radius:
        values.update(s_fov=2.0 * radius, s_region=sky.circle_polygon(s_ra, s_dec, radius))
    return values


def _events_footprint(events, notes):
    """Without a pointing (a drift-scan instrument such as HAWC looks at the zenith and the sky moves
    through): the position is the mean direction of the events and the region the smallest circle
    about it that holds every event (HE-OBSCORE-SPEC §7). The events of such a release were selected
    around a source, so this is the sky the dataset covers; a radius of 90° or more (all-sky events)
    is no region a polygon can hold, and only the position is given."""
    if "RA" not in events.columns or "DEC" not in events.columns:
        return {}
    centre, radius = sky.events_circle(events.column("RA"), events.column("DEC"))
    if centre is None:
        return {}
    radecsys = as_str(events.optional("RADECSYS")) or as_str(events.optional("RADESYS"))
    s_ra, s_dec = sky.pointing_icrs(*centre, radecsys, as_float(events.optional("EQUINOX")))
    notes.append(events.error("no RA_PNT/DEC_PNT: the position and region are those of the events", "RA_PNT"))
    if radius >= 90.0:
        return {"s_ra": s_ra, "s_dec": s_dec}
    return {"s_ra": s_ra, "s_dec": s_dec, "s_fov": 2.0 * radius, "s_region": sky.circle_polygon(s_ra, s_dec, radius)}


def fov_radius(events, irf_summary, collection, ra_pnt, dec_pnt):
    """Field-of-view radius in deg (spec §4.5): configuration, DSVAL CIRCLE, full-enclosure AEFF offset
    range, else the 99th percentile of the event offsets rounded up to 0.1° (never their maximum:
    mis-reconstructed events lie tens of degrees away)."""
    if collection.fov_radius:
        return collection.fov_radius
    radius = sky.circle_radius(events.header)
    if radius:
        return radius
    if irf_summary.max_offset:
        return irf_summary.max_offset
    if "RA" not in events.columns or "DEC" not in events.columns or not events.nrows:
        return None
    offsets = sky.offsets_deg(events.column("RA"), events.column("DEC"), ra_pnt, dec_pnt)
    offsets = offsets[np.isfinite(offsets)]
    if not len(offsets):
        return None
    return math.ceil(round(float(np.percentile(offsets, 99)) * 10.0, 6)) / 10.0


# ---- modes (HE extension)


def _mode_columns(events, gadf, irf_summary, collection, obs_index_row, subset=""):
    file_mode = as_str(events.optional("OBS_MODE")) or as_str(obs_index_row.get("OBS_MODE"))
    mode = modes.obs_mode(file_mode, gadf["ra_pnt"] is not None) or collection.defaults.get("obs_mode")
    mode = mode.upper() if mode else None
    offset = sky.target_offset(gadf["ra_pnt"], gadf["dec_pnt"], gadf["ra_obj"], gadf["dec_obj"])
    tracking = modes.tracking_mode(mode)
    pointing = modes.pointing_mode(as_float(events.optional("CONV_DEP")))
    header_irf = as_str(events.optional("IRF")) or as_str(obs_index_row.get("IRF"))
    return {
        "obs_mode": mode,
        "tracking_mode": tracking, "tracking_type": tracking,
        "scan_mode": modes.scan_mode(mode, offset),
        "pointing_mode": pointing, "array_pointing_mode": pointing,
        "analysis_mode": modes.analysis_mode(as_str(events.optional("EV_CLASS")), irf_summary.irf_config,
                                             header_irf),
        # the hdu-index's subset (spec §7: class then type, 'GP-5'), else the header's EVENT_TYPE
        "event_type": subset or as_str(events.optional("EVENT_TYPE")),
    }


# ---- provenance and configuration (CTA data model use cases)


def _provenance_columns(events, irf_summary, obs_index_row):
    creator = as_str(events.optional("CREATOR"))
    version = _creator_version(creator) or as_str(events.optional("EVTVER"))
    header_irf = as_str(events.optional("IRF")) or as_str(obs_index_row.get("IRF"))
    return {
        "creator": creator,
        "creator_version": version,
        "ev_class": as_str(events.optional("EV_CLASS")),
        "irf_config": irf_summary.irf_config or header_irf,
        "irf_class": irf_summary.irf_class,
        "rad_max": irf_summary.rad_max,
        "hdu_version": as_str(events.optional("HDUVERS")),
        "zenith": None,  # from zen_pnt / alt_pnt in _complete, once their placeholders are gone
    }


def _creator_version(creator):
    """'1.4.0' from 'ctobssim (1.4.0)'."""
    match = re.search(r"\(\s*([^()]*?)\s*\)\s*$", creator or "")
    return match.group(1) if match and match.group(1) else None


# ---- curation


def _curation_columns(hdus, events, collection, site, gadf):
    override = collection.override_for(hdus.dataset, hdus.obs_id)
    instrument = as_str(events.optional("INSTRUME")) or collection.instrument_name
    return {
        "target_name": gadf["object"],
        "target_class": collection.target_class,
        "obs_title": collection.obs_title,
        "facility_name": collection.facility_name,
        "instrument_name": instrument,
        "obs_creation_date": parse_datetime(events.optional("DATE")),
        "obs_creator_name": collection.creator_name,
        "obs_release_date": override.obs_release_date or collection.obs_release_date,
        "data_rights": override.data_rights or collection.data_rights,
        "publisher_id": collection.publisher_id or site.publisher_id,
        "bib_reference": collection.bib_reference,
        "proposal_id": collection.proposal_id,
    }


# ---- completion and checks


def _complete(row, collection, events):
    """Fills what is derived from other columns and the configured defaults, converts every value to
    its column's Python type, and checks that the row has exactly the table's columns and that no
    NOT NULL column is empty."""
    if row["zenith"] is None:
        row["zenith"] = row["zen_pnt"]
    if row["zenith"] is None and row["alt_pnt"] is not None:
        row["zenith"] = 90.0 - row["alt_pnt"]
    for column, value in collection.defaults.items():
        if row.get(column) is None:
            row[column] = value
    columns = collection_columns()
    names = [column.name for column in columns]
    unexpected = set(row) - set(names)
    missing = [name for name in names if name not in row]
    if unexpected or missing:
        # a programming error, not a data problem: the row builder and columns.yaml disagree
        raise RuntimeError(f"row columns differ from columns.yaml: extra {sorted(unexpected)}, "
                           f"missing {missing}")
    typed = {}
    for column in columns:
        typed[column.name] = _typed(row[column.name], column, events)
        if column.not_null and typed[column.name] is None:
            raise events.error(f"no value in the files and no `defaults: {column.name}` in the "
                               f"configuration of collection {collection.name}", column.name)
    return typed


def _typed(value, column, events):
    """A value as the plain Python type of its column (ints, floats, str, datetime, tuple)."""
    if value is None:
        return None
    kind = column.type
    converted = value
    if kind in ("smallint", "integer", "bigint"):
        converted = as_int(value)
    elif kind in ("real", "double precision"):
        converted = as_float(value)
    elif kind in ("text", "unicode"):
        converted = as_str(value)
    elif kind == "timestamp":
        converted = value if isinstance(value, datetime.datetime) else parse_datetime(value)
    elif kind == "spoly":
        converted = tuple((float(ra), float(dec)) for ra, dec in value)
    else:
        converted = plain(value)
    if converted is None:
        raise events.error(f"{shown(value)} is not a valid {kind}", column.name)
    return converted
