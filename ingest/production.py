"""What the files of a dataset say about how they were made (HE-OBSCORE-SPEC §9): read from the
headers the ingest has open anyway, for the dataset's provenance (provenance/dl3.py).

Per HDU: its file and EXTNAME, its creation date (DATE; HAWC's event lists write CREATED, in C's
asctime form and without a time zone), who made it (ORIGIN), its FITS CHECKSUM and DATASUM where
the producer wrote them (none of H.E.S.S. DR1, CTA 1DC and HAWC's files has them), and its
COMMENT cards (H.E.S.S. and HAWC say there which release a file belongs to).
For the production of the event list: who made it (EVENTS ORIGIN, else OBSERVER), and the
keywords that configured it — event class and analysis cuts, the IRFs the events go with, the
format versions, and the IRF configuration (AEFF CONFIG and class, and the OGIP calibration
boundaries CBDn0001 of CTA's CALDB files).
"""

import datetime
import os
from dataclasses import dataclass

from .values import as_str, parse_datetime

# Keywords of the production of an event list, where the files have them:
# (HDU type, keyword, what it is, UCD).
PRODUCTION_KEYWORDS = (
    ("events", "EV_CLASS", "Event class: the analysis cuts of the events",
     "meta.code.class;instr.setup"),
    ("events", "CUT", "Name of the analysis cuts", "meta.code.class;instr.setup"),
    ("events", "ANA_VER", "Version of the analysis", "meta.version"),
    ("events", "ENE_EST", "Energy estimator", "meta.code;instr.setup"),
    ("events", "IRF", "Name of the IRFs the events go with", "meta.id;instr.setup"),
    ("events", "CALDB", "Calibration database of those IRFs", "meta.id;instr.setup"),
    ("events", "EVTVER", "Version of the event list", "meta.version"),
    ("events", "HDUVERS", "Version of the GADF format of the event list", "meta.version"),
    ("aeff", "CONFIG", "Analysis configuration of the IRFs", "meta.id;instr.setup"),
    ("aeff", "HDUCLAS3", "IRF class: full-enclosure or point-like", "meta.code.class;instr.setup"),
)
# OGIP calibration boundaries (CAL/GEN/92-011): CBD<n>0001 for n = 1..9, 'NONE' when unused.
BOUNDARY_KEYWORDS = tuple(f"CBD{n}0001" for n in range(1, 10))
# Names that say nothing, written where a template had a field (CTA 1DC obs 111630: OBSERVER =
# 'string'): not published as a name (HE-OBSCORE-SPEC §5, placeholders).
PLACEHOLDER_NAMES = {"string", "none", "unknown", "n/a", "na", "-"}
# HAWC's CREATED: C's asctime ('Wed Jan  6 03:40:12 2021').
ASCTIME = "%a %b %d %H:%M:%S %Y"


@dataclass(frozen=True)
class HduOrigin:
    """One HDU a dataset was made from."""

    hdu_type: str  # events, gti, pointing, aeff, edisp, psf, bkg, rad_max
    file: str  # relative to the collection's data directory
    extname: str  # 'PRIMARY' for a primary HDU
    date: datetime.datetime = None  # DATE, else CREATED (no time zone: taken as written)
    date_keyword: str = None  # which of them
    origin: str = None  # ORIGIN
    checksum: str = None
    datasum: str = None
    comment: str = None  # the COMMENT cards, one line each


@dataclass(frozen=True)
class ProductionKeyword:
    """A header keyword of the production, with its HDU (e.g. 'EVENTS') and what it is."""

    keyword: str
    value: str
    hdu: str
    description: str
    ucd: str = None


@dataclass(frozen=True)
class Production:
    """What the headers say about how a dataset's files were made."""

    hdus: tuple  # HduOrigin, events first
    producer: str = None  # EVENTS ORIGIN, else OBSERVER
    producer_keyword: str = None  # which of them
    date: datetime.datetime = None  # of the event list
    keywords: tuple = ()  # ProductionKeyword


def read_production(hdus, data_dir):
    """The Production of a located dataset (observation.ObservationHdus); data_dir: the
    collection's, which the files are named relative to."""
    located = [("events", hdus.events), ("gti", hdus.gti), ("pointing", hdus.pointing),
               *hdus.irfs.items()]
    origins = tuple(hdu_origin(hdu_type, hdu, data_dir)
                    for hdu_type, hdu in located if hdu is not None)
    events = hdus.events
    producer_keyword = next((k for k in ("ORIGIN", "OBSERVER") if name_in(events, k)), None)
    return Production(
        hdus=origins,
        producer=name_in(events, producer_keyword) if producer_keyword else None,
        producer_keyword=producer_keyword, date=origins[0].date,
        keywords=tuple(_keywords(dict(located))))


def hdu_origin(hdu_type, hdu, data_dir):
    """The HduOrigin of one LocatedHdu."""
    date, date_keyword = _date(hdu)
    return HduOrigin(
        hdu_type=hdu_type, file=os.path.relpath(hdu.path, data_dir), extname=hdu.name,
        date=date, date_keyword=date_keyword, origin=name_in(hdu, "ORIGIN"),
        checksum=as_str(hdu.optional("CHECKSUM")), datasum=as_str(hdu.optional("DATASUM")),
        comment=joined_comments(hdu.header.comment_cards))


def name_in(hdu, keyword):
    """The name a keyword gives (ORIGIN, OBSERVER), or None where it is absent or a placeholder."""
    name = as_str(hdu.optional(keyword))
    return None if name is None or name.lower() in PLACEHOLDER_NAMES else name


def joined_comments(cards):
    """The text of COMMENT cards, one line each as written (a text longer than a card goes on
    in the next: HAWC's cut a URL in two), or None."""
    return "\n".join(card.rstrip() for card in cards).strip() or None


def _date(hdu):
    """(when the HDU was written, the keyword that says it), or (None, None)."""
    date = parse_datetime(hdu.optional("DATE"))
    if date is not None:
        return date, "DATE"
    created = as_str(hdu.optional("CREATED"))
    try:
        return datetime.datetime.strptime(" ".join(created.split()), ASCTIME), "CREATED"
    except (AttributeError, ValueError):
        return None, None


def _keywords(located):
    for hdu_type, keyword, description, ucd in PRODUCTION_KEYWORDS:
        hdu = located.get(hdu_type)
        value = as_str(hdu.optional(keyword)) if hdu is not None else None
        if value is not None:
            yield ProductionKeyword(keyword, value, hdu.name, description, ucd)
    aeff = located.get("aeff")
    for keyword in BOUNDARY_KEYWORDS if aeff is not None else ():
        value = as_str(aeff.optional(keyword))
        if value and value.upper() != "NONE":
            yield ProductionKeyword(keyword, value, aeff.name,
                                    "OGIP calibration boundary of the IRFs", "meta.code")
