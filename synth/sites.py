"""The two CTAO array sites the synthetic observations come from, and their telescopes.

Locations are the CTAO array centres (La Palma and Paranal). Telescope IDs follow CTAO's habit of
numbering LSTs first; the sub-arrays are the fixed groupings an array observes with (the whole array, one
telescope type, the whole array with one telescope down), each with the weight it is drawn with.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    key: str  # as given on the command line: north, south
    label: str  # as in IRF names: North, South
    name: str  # human-readable
    instrument: str  # INSTRUME keyword
    geo_lon: float  # deg, east positive
    geo_lat: float  # deg
    altitude: float  # m
    fov_radius: float  # deg: largest offset the IRFs cover (the FoV of ObsCore is twice this)
    threshold_tev: float  # energy threshold at zenith; it grows with zenith angle (irfs.threshold_tev)
    max_effective_area_m2: float
    subarrays: tuple  # ((name, telescope IDs, weight), ...)


def _ids(first, last):
    return tuple(range(first, last + 1))


# CTAO-North alpha configuration: 4 LSTs and 9 MSTs.
NORTH = Site(
    key="north", label="North", name="CTAO North, Roque de los Muchachos, La Palma",
    instrument="CTAO-North", geo_lon=-17.89, geo_lat=28.76, altitude=2200.0,
    fov_radius=4.0, threshold_tev=0.02, max_effective_area_m2=6.0e5,
    subarrays=(
        ("full", _ids(1, 13), 0.70),
        ("LST", _ids(1, 4), 0.10),
        ("MST", _ids(5, 13), 0.10),
        ("full-LST2", (1, 3, 4) + _ids(5, 13), 0.05),
        ("full-MST7", _ids(1, 6) + _ids(8, 13), 0.05),
    ),
)

# CTAO-South alpha configuration: 14 MSTs and 37 SSTs (IDs 5-18 and 30-66; 1-4 stay free for LSTs).
SOUTH = Site(
    key="south", label="South", name="CTAO South, Paranal",
    instrument="CTAO-South", geo_lon=-70.32, geo_lat=-24.68, altitude=2150.0,
    fov_radius=5.0, threshold_tev=0.04, max_effective_area_m2=3.0e6,
    subarrays=(
        ("full", _ids(5, 18) + _ids(30, 66), 0.70),
        ("MST", _ids(5, 18), 0.10),
        ("SST", _ids(30, 66), 0.10),
        ("full-MST9", _ids(5, 8) + _ids(10, 18) + _ids(30, 66), 0.05),
        ("full-SST41", _ids(5, 18) + _ids(30, 40) + _ids(42, 66), 0.05),
    ),
)

SITES = {site.key: site for site in (NORTH, SOUTH)}


def sites_named(keys):
    """The Sites for keys like ('north', 'south'), in the fixed order north, south (determinism does not
    depend on how the user orders them)."""
    unknown = set(keys) - set(SITES)
    if unknown or not keys:
        raise ValueError(f"sites must be among {', '.join(SITES)}, not {', '.join(sorted(unknown)) or 'none'}")
    return tuple(site for key, site in SITES.items() if key in keys)


def tellist(ids):
    """GADF TELLIST: comma-separated telescope IDs."""
    return ",".join(str(i) for i in ids)
