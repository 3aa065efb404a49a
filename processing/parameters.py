"""The parameters of a processing job: the one place they are named, described and checked.

The service declares them from PARAMETERS (the DaCHS input keys of rd/derived.rd.in and the input
parameters of the #proc service descriptor in every {links} response), and parse() reads what a
client sent into JobParameters, or raises ParameterError naming the parameter and what is wrong.
Values arrive as text (UWS parameters are strings); lists are space-separated, as DALI writes
arrays.
"""

import math
from dataclasses import dataclass


class ParameterError(ValueError):
    """A parameter the job cannot use; str() names it: 'RA: ...'."""

    def __init__(self, name, message):
        super().__init__(f"{name}: {message}")
        self.name = name


@dataclass(frozen=True)
class Parameter:
    name: str  # as clients send it (matched without case)
    description: str
    unit: str = ""
    ucd: str = ""
    default: str = None  # None: required
    multiple: bool = False  # repeated, one value each (ID)


# The on-region of H.E.S.S.'s standard point-source cut (theta^2 < 0.0125 deg^2).
DEFAULT_ON_RADIUS = "0.11"
DEFAULT_ENERGY_EDGES = "1 2 5 10 30"
PARAMETERS = (
    Parameter("ID", "obs_publisher_did of a DL3 dataset to analyse; repeat for more (e.g. the"
              " obs_publisher_did column of a cone search)", ucd="meta.id;meta.main",
              multiple=True),
    Parameter("RA", "Right ascension of the target, ICRS: the centre of the on-region",
              unit="deg", ucd="pos.eq.ra"),
    Parameter("DEC", "Declination of the target, ICRS", unit="deg", ucd="pos.eq.dec"),
    Parameter("ON_RADIUS", "Radius of the circular on-region around the target",
              unit="deg", ucd="phys.angSize", default=DEFAULT_ON_RADIUS),
    Parameter("ENERGY_EDGES", "Edges of the reconstructed-energy bins of the spectrum and of"
              " the flux points, increasing, space-separated; the light curve integrates from"
              " the first to the last", unit="TeV", ucd="em.energy",
              default=DEFAULT_ENERGY_EDGES),
    Parameter("TIME_EDGES", "Edges of the light curve's time bins, MJD (UTC), increasing,"
              " space-separated; empty: one bin per observation", unit="d",
              ucd="time.epoch", default=""),
)
PARAMETER_NAMES = tuple(p.name for p in PARAMETERS)

MAX_ON_RADIUS = 1.0  # deg: beyond it the region is no point-source on-region
ENERGY_RANGE = (1e-3, 1e4)  # TeV: from below any IACT's threshold to beyond any instrument
MAX_ENERGY_BINS = 40
MJD_RANGE = (40000.0, 100000.0)  # 1968 to 2132
MAX_TIME_BINS = 1000


@dataclass(frozen=True)
class JobParameters:
    ids: tuple  # obs_publisher_did, in the order given, each once
    ra: float  # deg, ICRS, in [0, 360)
    dec: float  # deg
    on_radius: float  # deg
    energy_edges: tuple  # TeV, increasing
    time_edges: tuple  # MJD (UTC), increasing; empty: one light-curve bin per observation

    def as_dict(self):
        """The values as the analysis and the provenance record take them."""
        return {"ID": list(self.ids), "RA": self.ra, "DEC": self.dec,
                "ON_RADIUS": self.on_radius, "ENERGY_EDGES": list(self.energy_edges),
                "TIME_EDGES": list(self.time_edges)}


def parse(values, max_observations):
    """JobParameters from {name (any case): text or list of texts, None if not given}; raises
    ParameterError. max_observations: how many IDs a job may have (etc/site.yaml)."""
    values = {str(k).upper(): v for k, v in values.items()}
    text = {p.name: _text(p, values.get(p.name)) for p in PARAMETERS if not p.multiple}
    return JobParameters(
        ids=_ids(values.get("ID"), max_observations),
        ra=_number("RA", text["RA"], 0.0, 360.0, upper_open=True),
        dec=_number("DEC", text["DEC"], -90.0, 90.0),
        on_radius=_on_radius(text["ON_RADIUS"]),
        energy_edges=_edges("ENERGY_EDGES", text["ENERGY_EDGES"], ENERGY_RANGE,
                            MAX_ENERGY_BINS, "TeV", "1 2 5 10"),
        time_edges=_edges("TIME_EDGES", text["TIME_EDGES"], MJD_RANGE, MAX_TIME_BINS,
                          "MJD", "53343.5 53345.5 53348.5", allow_empty=True),
    )


def _text(parameter, value):
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    if value is None or (str(value).strip() == "" and parameter.default is None):
        if parameter.default is None:
            raise ParameterError(parameter.name, f"missing: {parameter.description}"
                                 f"{f' ({parameter.unit})' if parameter.unit else ''}")
        return parameter.default
    return str(value).strip()


def _ids(value, max_observations):
    if value is None:
        value = []
    elif isinstance(value, str):
        value = [value]
    ids = []
    for did in (str(v).strip() for v in value):
        if not did:
            continue
        if not did.startswith("ivo://"):
            raise ParameterError("ID", f"{did!r} is no obs_publisher_did (ivo://...)")
        if did not in ids:
            ids.append(did)
    if not ids:
        raise ParameterError("ID", "no dataset given: pass one ID (obs_publisher_did) per DL3"
                             " dataset to analyse")
    if len(ids) > max_observations:
        raise ParameterError("ID", f"{len(ids)} datasets given; a job takes at most"
                             f" {max_observations}: split the request")
    return tuple(ids)


def _float(name, token):
    try:
        value = float(token)
    except ValueError:
        raise ParameterError(name, f"{token!r} is not a number") from None
    if not math.isfinite(value):
        raise ParameterError(name, f"{token!r} is not a finite number")
    return value


def _number(name, token, low, high, upper_open=False):
    value = _float(name, token)
    if value < low or value > high or (upper_open and value == high):
        bracket = ")" if upper_open else "]"
        raise ParameterError(name, f"{token} is outside [{low:g}, {high:g}{bracket} (degrees)")
    return value


def _on_radius(token):
    value = _float("ON_RADIUS", token)
    if not 0 < value <= MAX_ON_RADIUS:
        raise ParameterError("ON_RADIUS", f"{token} is not in (0, {MAX_ON_RADIUS:g}] degrees")
    return value


def _edges(name, token, bounds, max_bins, unit, example, allow_empty=False):
    tokens = token.replace(",", " ").split()
    if not tokens and allow_empty:
        return ()
    if len(tokens) < 2:
        raise ParameterError(name, f"give at least two edges ({unit}, space-separated, e.g."
                             f" '{example}'), not {token!r}")
    if len(tokens) - 1 > max_bins:
        raise ParameterError(name, f"{len(tokens) - 1} bins; at most {max_bins}")
    edges = tuple(_float(name, t) for t in tokens)
    for edge in edges:
        if not bounds[0] <= edge <= bounds[1]:
            raise ParameterError(name, f"{edge:g} {unit} is outside [{bounds[0]:g},"
                                 f" {bounds[1]:g}] {unit}")
    for before, after in zip(edges, edges[1:]):
        if after <= before:
            raise ParameterError(name, f"the edges must increase: {after:g} after {before:g}")
    return edges
