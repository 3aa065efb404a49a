"""Positions on the sky, vectorised over numpy arrays (all angles in degrees), and the target catalogue.

No astropy coordinate frames here: 10^6 alt-az transforms would be slow and would want IERS tables from
the network. The formulas below are the textbook ones; what they leave out (nutation, aberration,
refraction, UT1-UTC) moves an altitude or azimuth by less than 0.1 degree, far below what a synthetic
ALT_PNT/AZ_PNT needs. Galactic coordinates use the exact ICRS -> Galactic rotation.
"""

from dataclasses import dataclass

import numpy as np

# ICRS -> Galactic rotation matrix (Hipparcos definition, as in astropy's Galactic frame).
ICRS_TO_GALACTIC = np.array([
    [-0.0548755604162154, -0.8734370902348850, -0.4838350155487132],
    [+0.4941094278755837, -0.4448296299600112, +0.7469822444972189],
    [-0.8676661490190047, -0.1980763734312015, +0.4559837761750669],
])
# Earth rotation: GMST = GMST_J2000 + SIDEREAL_DEG_PER_DAY * (UT1 days since J2000.0)
GMST_J2000_DEG = 280.46061837
SIDEREAL_DEG_PER_DAY = 360.98564736629
# General precession (first order in time): m, n in deg per Julian year.
PRECESSION_M_DEG = 46.1244 / 3600.0
PRECESSION_N_DEG = 20.0431 / 3600.0
DAYS_PER_YEAR = 365.25


def _unit_vectors(lon, lat):
    lon, lat = np.radians(lon), np.radians(lat)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _angles(vectors):
    lon = np.degrees(np.arctan2(vectors[1], vectors[0])) % 360.0
    lat = np.degrees(np.arcsin(np.clip(vectors[2], -1.0, 1.0)))
    return lon, lat


def icrs_to_galactic(ra, dec):
    return _angles(ICRS_TO_GALACTIC @ _unit_vectors(ra, dec))


def galactic_to_icrs(glon, glat):
    return _angles(ICRS_TO_GALACTIC.T @ _unit_vectors(glon, glat))


def offset_position(ra, dec, separation, position_angle):
    """The positions `separation` deg away from (ra, dec) towards `position_angle` (north through east)."""
    ra0, dec0 = np.radians(ra), np.radians(dec)
    rho, theta = np.radians(separation), np.radians(position_angle)
    sin_dec = np.sin(dec0) * np.cos(rho) + np.cos(dec0) * np.sin(rho) * np.cos(theta)
    dec1 = np.arcsin(np.clip(sin_dec, -1.0, 1.0))
    d_ra = np.arctan2(np.sin(theta) * np.sin(rho) * np.cos(dec0), np.cos(rho) - np.sin(dec0) * sin_dec)
    return np.degrees(ra0 + d_ra) % 360.0, np.degrees(dec1)


def precessed(ra, dec, years_since_j2000):
    """(ra, dec) of the equator and equinox of date, first order in time (good to ~0.01 deg over 60
    years away from the poles, which no target of the catalogue comes close to)."""
    ra_r, dec_r = np.radians(ra), np.radians(dec)
    ra_date = ra + (PRECESSION_M_DEG + PRECESSION_N_DEG * np.sin(ra_r) * np.tan(dec_r)) * years_since_j2000
    dec_date = dec + PRECESSION_N_DEG * np.cos(ra_r) * years_since_j2000
    return ra_date % 360.0, dec_date


def local_sidereal_deg(ut1_days_since_j2000, geo_lon):
    return (GMST_J2000_DEG + SIDEREAL_DEG_PER_DAY * ut1_days_since_j2000 + geo_lon) % 360.0


def altaz(hour_angle, dec, geo_lat):
    """(alt, az) in deg, azimuth from north through east, of a position at `hour_angle` and `dec`."""
    h, d, phi = np.radians(hour_angle), np.radians(dec), np.radians(geo_lat)
    sin_alt = np.sin(phi) * np.sin(d) + np.cos(phi) * np.cos(d) * np.cos(h)
    az = np.arctan2(-np.cos(d) * np.sin(h), np.sin(d) * np.cos(phi) - np.cos(d) * np.sin(phi) * np.cos(h))
    return np.degrees(np.arcsin(np.clip(sin_alt, -1.0, 1.0))), np.degrees(az) % 360.0


def max_hour_angle(dec, geo_lat, max_zenith):
    """The largest |hour angle| (deg) at which `dec` is at most `max_zenith` from the zenith (180 for a
    circumpolar position, 0 for one that never rises high enough)."""
    d, phi = np.radians(dec), np.radians(geo_lat)
    cos_h = (np.cos(np.radians(max_zenith)) - np.sin(phi) * np.sin(d)) / (np.cos(phi) * np.cos(d))
    return np.degrees(np.arccos(np.clip(cos_h, -1.0, 1.0)))


# ---- the target catalogue


@dataclass(frozen=True)
class Catalogue:
    """Named targets: half along the Galactic plane (|b| of a few degrees), half anywhere in the sky.

    `weight` is each target's share of the observations: a few targets get many (the Crab-like
    calibrators), most get few, as in real IACT archives.
    """

    name: np.ndarray  # bytes, 'SYN J0534+2200' or 'SYN G012.3-00.4'
    ra: np.ndarray
    dec: np.ndarray
    weight: np.ndarray


def make_catalogue(rng, size):
    galactic = np.arange(size) < size // 2
    glon = rng.uniform(0.0, 360.0, size)
    glat = np.clip(rng.normal(0.0, 2.0, size), -10.0, 10.0)
    ra, dec = galactic_to_icrs(glon, glat)
    # Uniform on the sphere: sin(dec) uniform.
    ra_any, dec_any = rng.uniform(0.0, 360.0, size), np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, size)))
    ra, dec = np.where(galactic, ra, ra_any), np.where(galactic, dec, dec_any)
    ra, dec = np.round(ra, 6), np.round(dec, 6)
    names = [_galactic_name(l, b) if g else _equatorial_name(a, d)
             for g, l, b, a, d in zip(galactic, glon, glat, ra, dec)]
    popularity = 1.0 / (rng.permutation(size) + 10.0)
    return Catalogue(name=np.array(names, dtype="S24"), ra=ra, dec=dec, weight=popularity / popularity.sum())


def _equatorial_name(ra, dec):
    minutes = int(ra / 15.0 * 60.0)
    sign = "+" if dec >= 0 else "-"
    arcmin = int(abs(dec) * 60.0)
    return f"SYN J{minutes // 60:02d}{minutes % 60:02d}{sign}{arcmin // 60:02d}{arcmin % 60:02d}"


def _galactic_name(glon, glat):
    return f"SYN G{glon:05.1f}{glat:+05.1f}"
