"""Positions on the sky: the pointing in ICRS, the field-of-view polygon, event offsets, the altitude of
the pointing as seen from a site."""

import math
import re

import astropy.units as u
import erfa
import numpy as np
from astropy.coordinates import FK4, FK5, ICRS, SkyCoord
from astropy.time import Time

# The field of view is published as a polygon around the FoV circle. pgSphere's GiST index on
# s_region costs time quadratic in the vertices (10^4 footprints: 38 s with 32 vertices, 9.9 s
# with 16, 2.5 s with 8), the largest part of an ingest; 16 vertices keep the polygon within 2 %
# of the circle's radius.
FOV_VERTICES = 16
# DSVALn = 'CIRCLE(ra,dec,radius)' (OGIP data-subspace keywords, as ctools writes them)
CIRCLE = re.compile(r"^\s*CIRCLE\s*\(\s*([-+\d.eE]+)\s*,\s*([-+\d.eE]+)\s*,\s*([-+\d.eE]+)\s*\)\s*$", re.I)


def normalise_ra(ra):
    """RA in [0, 360): files carry negative RAs and RA + 360."""
    ra = math.fmod(ra, 360.0)
    if ra < 0:
        ra += 360.0
    return 0.0 if ra >= 360.0 else ra


def pointing_icrs(ra, dec, radecsys=None, equinox=None):
    """(ra, dec) of the pointing in ICRS from the file's frame (RADECSYS, EQUINOX; FK5 J2000 by default).

    FK5 J2000 and ICRS differ by ~20 mas: small, but ObsCore positions are ICRS, and converting is cheap.
    """
    system = (radecsys or "FK5").strip().upper()
    if system == "ICRS":
        return normalise_ra(ra), dec
    if system == "FK4":
        frame = FK4(equinox=Time(equinox or 1950.0, format="byear"))
    else:
        frame = FK5(equinox=Time(equinox or 2000.0, format="jyear"))
    icrs = SkyCoord(ra * u.deg, dec * u.deg, frame=frame).transform_to(ICRS())
    return normalise_ra(float(icrs.ra.deg)), float(icrs.dec.deg)


def circle_radius(header):
    """Radius (deg) of a DSVALn = CIRCLE(ra,dec,r) data-subspace keyword whose DSTYPn is POS(RA,DEC)."""
    for key in header:
        if not key.startswith("DSTYP"):
            continue
        if not str(header[key]).replace(" ", "").upper().startswith("POS("):
            continue
        match = CIRCLE.match(str(header.get("DSVAL" + key[5:], "")))
        if match:
            return float(match.group(3))
    return None


def offsets_deg(ra, dec, ra0, dec0):
    """Angular distances (deg) of positions from (ra0, dec0), all in deg (haversine: exact for small ones)."""
    ra, dec = np.radians(np.asarray(ra, dtype=float)), np.radians(np.asarray(dec, dtype=float))
    ra0, dec0 = math.radians(ra0), math.radians(dec0)
    a = np.sin((dec - dec0) / 2) ** 2 + np.cos(dec) * math.cos(dec0) * np.sin((ra - ra0) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def events_circle(ra, dec):
    """((ra, dec), radius) in deg: the mean direction of event positions and the distance of the
    farthest from it, rounded up to 0.1°; (None, None) without finite positions or when they have
    no mean direction (spread evenly over the sky)."""
    ra, dec = np.radians(np.asarray(ra, dtype=float)), np.radians(np.asarray(dec, dtype=float))
    good = np.isfinite(ra) & np.isfinite(dec)
    if not np.any(good):
        return None, None
    ra, dec = ra[good], dec[good]
    vector = np.array([np.sum(np.cos(dec) * np.cos(ra)), np.sum(np.cos(dec) * np.sin(ra)), np.sum(np.sin(dec))])
    norm = float(np.linalg.norm(vector))
    if norm < 1e-6 * len(ra):
        return None, None
    x, y, z = vector / norm
    centre = (normalise_ra(math.degrees(math.atan2(y, x))), math.degrees(math.asin(max(-1.0, min(1.0, z)))))
    farthest = float(np.max(offsets_deg(np.degrees(ra), np.degrees(dec), *centre)))
    return centre, math.ceil(round(farthest * 10.0, 6)) / 10.0


def circle_polygon(ra0, dec0, radius, vertices=FOV_VERTICES):
    """The polygon around the circle of `radius` deg around (ra0, dec0), as a tuple of (ra, dec)
    vertices in deg: its edges touch the circle, so that everything in the field of view is inside
    the polygon (a search on s_region misses nothing in the field).

    Vertices go by increasing position angle (north through east), which is counter-clockwise as seen
    on the sky (east to the left), the orientation STC-S and ADQL use for the inside of a polygon.
    """
    dec0_r = math.radians(dec0)
    # a great-circle edge between vertices at distance R comes closest to the centre, at
    # atan(tan R cos(pi/n)), half-way: that must be the circle's radius
    radius_r = math.atan(math.tan(math.radians(radius)) / math.cos(math.pi / vertices))
    points = []
    for k in range(vertices):
        angle = 2.0 * math.pi * k / vertices
        sin_dec = math.sin(dec0_r) * math.cos(radius_r) + math.cos(dec0_r) * math.sin(radius_r) * math.cos(angle)
        dec = math.asin(max(-1.0, min(1.0, sin_dec)))
        d_ra = math.atan2(math.sin(angle) * math.sin(radius_r) * math.cos(dec0_r),
                          math.cos(radius_r) - math.sin(dec0_r) * sin_dec)
        points.append((normalise_ra(ra0 + math.degrees(d_ra)), math.degrees(dec)))
    return tuple(points)


def target_offset(ra_pnt, dec_pnt, ra_obj, dec_obj):
    """Distance (deg) between pointing and target, None when either is unknown."""
    if None in (ra_pnt, dec_pnt, ra_obj, dec_obj):
        return None
    return float(offsets_deg(ra_obj, dec_obj, ra_pnt, dec_pnt))


def pointing_altitude(ra, dec, geo_lon, geo_lat, mjd_utc):
    """Altitude (deg) of (ra, dec) seen from (geo_lon east, geo_lat) at an MJD (UTC), without refraction.

    A plausibility check, not astrometry: UT1 is taken as UTC and J2000 as the equinox of date, which
    moves the result by well under a degree for observations of this century. erfa and no astropy
    frames, which would want IERS tables from the network.
    """
    sidereal = erfa.gmst82(2400000.5, mjd_utc)
    hour_angle = sidereal + math.radians(geo_lon) - math.radians(ra)
    dec_r, lat_r = math.radians(dec), math.radians(geo_lat)
    sin_alt = math.sin(lat_r) * math.sin(dec_r) + math.cos(lat_r) * math.cos(dec_r) * math.cos(hour_angle)
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_alt))))
