"""Target names (search/targets.py): the folding rule, positions from the published observations'
own targets (built here from the real obs-index of H.E.S.S. DR1, as the collection table holds it),
hits, misses and names that are not one target, and Sesame when it cannot answer: a closed
loopback port (refused at once) and one that accepts and never answers (the timeout)."""

import os
import socket
from collections import Counter

import pytest
from astropy.table import Table

from search.targets import (PUBLISHED, SESAME, NotResolved, PublishedTargets, Sesame, TargetRow, fold,
                            resolve, unit_vector)


# ---- folding


@pytest.mark.parametrize("spelling", ["Crab", "Crab Nebula", "crab nebula", "CRAB", " crab  NEBULA ",
                                      "Crab-Nebula", "crab_nebula"])
def test_spellings_of_the_crab_are_one_name(spelling):
    assert fold(spelling) == fold("Crab Nebula") == "crab"


@pytest.mark.parametrize("one, other", [
    ("RX J1713.7-3946", "RXJ 1713.7-3946"),
    ("PKS 2155-304", "pks2155-304"),
    ("PKS 2155-304", "PKS 2155\u2212304"),  # a typographic minus
    ("MSH 15-52", "MSH15-52"),
    ("1ES 0414+009", "1es 0414 +009"),
])
def test_case_spaces_and_punctuation_do_not_matter(one, other):
    assert fold(one) == fold(other)


@pytest.mark.parametrize("one, other", [
    ("PSR J0437-4715", "PSR J0437+4715"),  # the sign of a declination is kept
    ("Crab", "Crab Pulsar"),  # only a trailing "Nebula" is dropped, nothing else
    ("Kepler SNR", "Kepler"),
    ("Nebula", ""),  # a name that is only "Nebula" stays one
])
def test_no_alias_beyond_the_rule(one, other):
    assert fold(one) != fold(other)


def test_non_latin_letters_are_kept():
    assert fold("η Car") == fold("η CAR") == "ηcar"


# ---- the published targets


def hess_rows(hess_dir):
    """The TargetRows the search's query gives for H.E.S.S. DR1: its obs-index's OBJECT, RA_OBJ,
    DEC_OBJ and pointings (what the collection table holds), grouped as the query groups them."""
    table = Table.read(os.path.join(hess_dir, "obs-index.fits.gz"))
    groups = {}
    for row in table:
        key = (row["OBJECT"].strip(), float(row["RA_OBJ"]), float(row["DEC_OBJ"]))
        groups.setdefault(key, []).append(unit_vector(float(row["RA_PNT"]), float(row["DEC_PNT"])))
    return [TargetRow(name, name, ra, dec, len(centres), *(sum(centres) / len(centres)), 5.0)
            for (name, ra, dec), centres in groups.items()]


@pytest.fixture(scope="module")
def hess_targets(hess_dir):
    return PublishedTargets(hess_rows(hess_dir))


@pytest.mark.parametrize("name", ["Crab", "Crab Nebula", "crab nebula", "CRAB"])
def test_the_crab_offline(hess_targets, name):
    found = resolve(name, hess_targets, sesame=None)
    assert found.resolver == PUBLISHED and found.target == "Crab Nebula" and found.observations == 4
    assert (found.ra, found.dec) == pytest.approx((83.63333, 22.014444), abs=1e-4)
    assert found.describe().startswith(f"“{name}” resolved from the published observations: Crab Nebula")


def test_spellings_in_the_data_meet(hess_targets):
    """H.E.S.S. writes both "RXJ 1713.7-3946" and its galactic fields apart; "RX J1713.7-3946" finds
    the 12 observations so named, at their RA_OBJ/DEC_OBJ."""
    found = resolve("RX J1713.7-3946", hess_targets)
    assert (found.target, found.observations) == ("RXJ 1713.7-3946", 12)
    assert (found.ra, found.dec) == pytest.approx((258.3879, -39.762222), abs=1e-4)


def test_the_object_position_wins_over_the_pointings(hess_targets):
    """PKS 2155-304's 21 runs point in wobble around it; the name's position is RA_OBJ/DEC_OBJ."""
    found = resolve("pks 2155-304", hess_targets)
    assert (found.ra, found.dec) == pytest.approx((329.71667, -30.225555), abs=1e-4)


def test_without_an_object_position_the_centres(hess_dir):
    """HAWC-like: no RA_OBJ/DEC_OBJ, the collection names the target; the mean of the datasets'
    centres (around 0 RA: the mean of 359.9 and 0.1 is 0)."""
    rows = [TargetRow(None, "Some Source", None, None, 1, *unit_vector(359.9, 10.0), 11.0),
            TargetRow(None, "Some Source", None, None, 1, *unit_vector(0.1, 10.0), 11.0)]
    found = resolve("some source", PublishedTargets(rows))
    assert found.observations == 2
    assert min(found.ra, 360.0 - found.ra) == pytest.approx(0.0, abs=1e-9)
    assert found.dec == pytest.approx(10.0, abs=1e-3)


def test_a_survey_is_not_one_target():
    """CTA 1DC's "Galactic Plane Survey": four pointings 40 degrees apart give no position."""
    pointings = [(267.68, -29.61), (264.23, -29.52), (266.04, -26.98), (130.89, -44.63)]
    rows = [TargetRow("Galactic Plane Survey", "Galactic Plane Survey", None, None, 1,
                      *unit_vector(ra, dec), 10.0) for ra, dec in pointings]
    with pytest.raises(NotResolved, match="scatter by .* not one target; give RA and Dec"):
        resolve("galactic plane survey", PublishedTargets(rows))


def test_the_largest_field_of_view(hess_targets):
    assert hess_targets.max_fov == 5.0


def test_a_miss_without_sesame_says_so(hess_targets):
    with pytest.raises(NotResolved) as caught:
        resolve("Vela X", hess_targets, sesame=None)
    assert str(caught.value) == ("not found: “Vela X” is not the target of any published observation"
                                 " (and no Sesame is configured); give RA and Dec")


@pytest.mark.parametrize("name", ["", "  ", "--", "."])
def test_no_name_is_no_name(hess_targets, name):
    with pytest.raises(NotResolved, match="is not a name"):
        resolve(name, hess_targets)


def test_every_hess_name_resolves_to_its_own_position(hess_dir, hess_targets):
    """Every OBJECT of the obs-index resolves, offline, to its RA_OBJ/DEC_OBJ (where one name has
    two slightly different positions, 3C 273, to their mean)."""
    table = Table.read(os.path.join(hess_dir, "obs-index.fits.gz"))
    names = Counter(name.strip() for name in table["OBJECT"])
    for name, count in names.items():
        found = resolve(name, hess_targets)
        rows = table[[n.strip() == name for n in table["OBJECT"]]]
        assert found.observations == count, name
        assert found.dec == pytest.approx(float(rows["DEC_OBJ"].mean()), abs=1e-3), name


# ---- Sesame, unreachable


def closed_port():
    """A loopback port nobody listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port():
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_sesame_refused(hess_targets):
    sesame = Sesame((f"http://127.0.0.1:{closed_port()}/",), timeout=5)
    with pytest.raises(NotResolved) as caught:
        resolve("Vela X", hess_targets, sesame)
    message = str(caught.value)
    assert message.startswith("not found: “Vela X” is not the target of any published observation, and"
                              " Sesame could not be reached (127.0.0.1:")
    assert "Connection refused" in message and message.endswith("; give RA and Dec")


def test_sesame_silent_gives_up_at_its_timeout(hess_targets, silent_port):
    sesame = Sesame((f"http://127.0.0.1:{silent_port}/",), timeout=0.5)
    with pytest.raises(NotResolved) as caught:
        resolve("Vela X", hess_targets, sesame)
    assert str(caught.value) == ("not found: “Vela X” is not the target of any published observation,"
                                 " and Sesame did not answer within 0.5 s; give RA and Dec")


def test_a_published_name_never_asks_sesame(hess_targets, silent_port):
    found = resolve("Crab", hess_targets, Sesame((f"http://127.0.0.1:{silent_port}/",), timeout=0.5))
    assert found.resolver == PUBLISHED and SESAME not in found.describe()
