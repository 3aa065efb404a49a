"""Where the telescopes stand (site name, longitude, latitude, altitude above sea level).

The configuration's `site:` values come first. The GEOLON/GEOLAT/ALTITUDE keywords of the EVENTS header
(else of the obs-index header) are published only when the file itself confirms them: the altitude of
the pointing seen from that place at the middle of the observation must be the file's ALT_PNT. Simulated
data carry placeholder sites (CTA 1DC: a longitude in the Indian Ocean) next to placeholder ALT_PNT = 90,
and a site that cannot be confirmed is not published as a fact (spec §5).
"""

from . import sky
from .values import as_float

# ALT_PNT is the mean altitude of the run, the check uses the middle of the run: they differ by a degree
# or two for runs of half an hour (H.E.S.S. DR1: at most 2.0°). A wrong site is tens of degrees off.
ALTITUDE_TOLERANCE_DEG = 5.0


def site_columns(events, collection, obs_index_header, gadf, mid_mjd, notes):
    """site_name, geo_lon, geo_lat, geo_alt (m) and obs_type of an observation's row."""
    site = collection.site
    configured = None not in (site.geo_lon, site.geo_lat, site.geo_alt)
    header = {} if configured else _header_site(events, obs_index_header, notes)
    if header and None in (site.geo_lon, site.geo_lat) and not _confirmed(header, gadf, mid_mjd):
        notes.append(events.error(
            f"the site GEOLON={header['geo_lon']}, GEOLAT={header['geo_lat']} does not match ALT_PNT (or there "
            f"is no ALT_PNT to check it against): not published", "GEOLON"))
        header = {}
    return {
        "site_name": site.name,
        "geo_lon": site.geo_lon if site.geo_lon is not None else header.get("geo_lon"),
        "geo_lat": site.geo_lat if site.geo_lat is not None else header.get("geo_lat"),
        "geo_alt": site.geo_alt if site.geo_alt is not None else header.get("geo_alt"),
        "obs_type": None,  # only the configuration knows (defaults: obs_type)
    }


def _header_site(events, obs_index_header, notes):
    """{geo_lon, geo_lat, geo_alt} from the EVENTS header, else the obs-index header; {} without both
    GEOLON and GEOLAT. ALTITUDE written in km (its comment says so) is converted to m."""

    def value(key):
        number = as_float(events.optional(key))
        return as_float(obs_index_header.get(key)) if number is None else number

    lon, lat, altitude = value("GEOLON"), value("GEOLAT"), value("ALTITUDE")
    if lon is None or lat is None:
        return {}
    if altitude is not None and "km" in _comment(events, "ALTITUDE").lower().split():
        notes.append(events.error(f"{altitude} is in km (its comment says so): read as {altitude * 1000.0} m",
                                  "ALTITUDE"))
        altitude *= 1000.0
    return {"geo_lon": lon, "geo_lat": lat, "geo_alt": altitude}


def _confirmed(header, gadf, mid_mjd):
    """Whether the pointing seen from the header's site at mid-observation is at the file's ALT_PNT
    (90 - ZEN_PNT without one). Without a pointing or an altitude to compare with, it is not."""
    altitude = gadf["alt_pnt"]
    if altitude is None and gadf["zen_pnt"] is not None:
        altitude = 90.0 - gadf["zen_pnt"]
    if None in (altitude, gadf["ra_pnt"], gadf["dec_pnt"], mid_mjd):
        return False
    seen = sky.pointing_altitude(gadf["ra_pnt"], gadf["dec_pnt"], header["geo_lon"], header["geo_lat"], mid_mjd)
    return abs(seen - altitude) <= ALTITUDE_TOLERANCE_DEG


def _comment(hdu, key):
    """The comment of a header card, brackets turned into spaces ('[km] Altitude' -> ' km  Altitude')."""
    try:
        comment = str(hdu.header.comments[key])
    except KeyError:
        return ""
    return comment.replace("[", " ").replace("]", " ")
