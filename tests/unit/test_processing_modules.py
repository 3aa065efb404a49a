"""The processing service's plain Python, without DaCHS: its parameters, which datasets a job can
use, the rights its products inherit, their ObsCore rows (processing/, datalink/access.py)."""

import datetime

import pytest

from datalink import access
from ingest import config
from processing import inputs, parameters, products
import schemas

CRAB = {"ID": ["ivo://x/hess_dr1?23523"], "RA": "83.633", "DEC": "22.014"}


def parse(**changes):
    values = dict(CRAB, **changes)
    return parameters.parse({k: v for k, v in values.items() if v is not None}, 100)


def test_defaults_and_values():
    got = parse()
    assert got.ids == ("ivo://x/hess_dr1?23523",)
    assert (got.ra, got.dec, got.on_radius) == (83.633, 22.014, 0.11)
    assert got.energy_edges == (1, 2, 5, 10, 30) and got.time_edges == ()


def test_names_are_matched_without_case_and_lists_are_space_separated():
    got = parameters.parse({"id": ["ivo://a/b?1", "ivo://a/b?1", "ivo://a/b?2"], "ra": "0",
                            "dec": "-90", "energy_edges": "0.5,1 2", "Time_Edges": "6e4  60001.5"},
                           100)
    assert got.ids == ("ivo://a/b?1", "ivo://a/b?2")  # each once, in order
    assert got.energy_edges == (0.5, 1, 2) and got.time_edges == (60000, 60001.5)


@pytest.mark.parametrize("changes, message", [
    ({"RA": "abc"}, "RA: 'abc' is not a number"),
    ({"RA": "360"}, "RA: 360 is outside [0, 360) (degrees)"),
    ({"RA": "nan"}, "RA: 'nan' is not a finite number"),
    ({"DEC": "-90.5"}, "DEC: -90.5 is outside [-90, 90] (degrees)"),
    ({"DEC": None}, "DEC: missing: Declination of the target, ICRS (deg)"),
    ({"ID": None}, "ID: no dataset given"),
    ({"ID": ["  "]}, "ID: no dataset given"),
    ({"ID": ["hess_dr1?23523"]}, "ID: 'hess_dr1?23523' is no obs_publisher_did"),
    ({"ON_RADIUS": "-1"}, "ON_RADIUS: -1 is not in (0, 1] degrees"),
    ({"ON_RADIUS": "2"}, "ON_RADIUS: 2 is not in (0, 1] degrees"),
    ({"ENERGY_EDGES": "1"}, "ENERGY_EDGES: give at least two edges (TeV"),
    ({"ENERGY_EDGES": "1 1"}, "ENERGY_EDGES: the edges must increase: 1 after 1"),
    ({"ENERGY_EDGES": "0 1"}, "ENERGY_EDGES: 0 TeV is outside [0.001, 10000] TeV"),
    ({"ENERGY_EDGES": " ".join(str(i) for i in range(1, 43))}, "ENERGY_EDGES: 41 bins; at most 40"),
    ({"TIME_EDGES": "53343.5"}, "TIME_EDGES: give at least two edges (MJD"),
    ({"TIME_EDGES": "12 13"}, "TIME_EDGES: 12 MJD is outside [40000, 100000] MJD"),
])
def test_bad_values_are_named(changes, message):
    with pytest.raises(parameters.ParameterError) as caught:
        parse(**changes)
    assert message in str(caught.value)


def test_too_many_ids():
    ids = [f"ivo://a/b?{i}" for i in range(4)]
    with pytest.raises(parameters.ParameterError, match="4 datasets given; a job takes at most 3"):
        parameters.parse(dict(CRAB, ID=ids), 3)


def test_every_parameter_is_described():
    for p in parameters.PARAMETERS:
        assert p.description and p.name.isupper()
        if p.default:
            parse(**{p.name: p.default})  # a default is a valid value


# ---- which datasets a job can use


class Collection:
    name, schema, obs_collection = "hess_dr1", "hess_dr1", "HESS-DL3-DR1"

    def owner_for(self, key, obs_id=None):
        return "hess_team" if key == "20303" else None


def dataset(key, ra_pnt=83.63, dec_pnt=21.51, fov=5.0, rights="public", release=None):
    row = {"obs_publisher_did": f"ivo://x/hess_dr1?{key}", "obs_id": key, "s_ra": ra_pnt,
           "s_dec": dec_pnt, "s_fov": fov, "ra_pnt": ra_pnt, "dec_pnt": dec_pnt,
           "obs_mode": "WOBBLE", "data_rights": rights, "obs_release_date": release}
    return inputs.InputDataset(Collection(), key, row)


def test_datasets_that_do_not_see_the_target_are_left_out():
    near, far = dataset("23523"), dataset("20136", ra_pnt=228.6, dec_pnt=-58.8)
    usable, left_out = inputs.select([near, far], 83.633, 22.014, 0.11)
    assert usable == [near]
    [(dataset_, reason)] = left_out
    assert dataset_ is far and "not inside its field of view" in reason


def test_the_on_region_must_be_inside_the_field():
    # 0.5 deg off; a field of 1.2 deg diameter (radius 0.6) holds a 0.09 deg region, not 0.12
    usable, _ = inputs.select([dataset("1", fov=1.2)], 83.63, 22.01, 0.09)
    assert usable
    with pytest.raises(inputs.InputError, match="No matching observation: ivo://x/hess_dr1"):
        inputs.select([dataset("1", fov=1.2)], 83.63, 22.01, 0.12)


def test_a_drift_scan_is_left_out():
    drift = dataset("103000133-GP-5")
    drift.row.update(ra_pnt=None, dec_pnt=None, obs_mode="DRIFT")
    with pytest.raises(inputs.InputError, match="it has no pointing .observing mode DRIFT"):
        inputs.select([drift], 83.63, 22.01, 0.11)


# ---- the rights products inherit


NOW = datetime.datetime(2026, 12, 1)
LATER, MUCH_LATER = datetime.datetime(2027, 6, 1), datetime.datetime(2099, 1, 1)


def test_public_inputs_make_a_public_product():
    assert access.inherited_rights([("public", None, None), ("proprietary", NOW, "team")],
                                   NOW) == ("public", None, None)


def test_the_latest_release_of_the_unreleased_inputs():
    rights = access.inherited_rights([("public", None, None), ("proprietary", LATER, "team"),
                                      ("proprietary", MUCH_LATER, "team")], NOW)
    assert rights == ("proprietary", MUCH_LATER, "team")


def test_no_release_date_means_never_until_set():
    assert access.inherited_rights([("proprietary", None, "team"), ("secure", LATER, "team")],
                                   NOW) == ("secure", None, "team")


def test_several_owner_groups_cannot_share_a_product():
    with pytest.raises(access.MixedOwners, match=r"several owner groups \(a, b\)"):
        access.inherited_rights([("proprietary", LATER, "a"), ("proprietary", LATER, "b")], NOW)


def test_the_product_follows_the_same_verdict():
    rights = access.inherited_rights([("proprietary", MUCH_LATER, "team")], NOW)
    secure = access.Channel(scheme="https", client="192.0.2.7")
    assert access.verdict(*rights, None, lambda g: False, secure, now=NOW) == access.AUTHENTICATE
    assert access.verdict(*rights, "alice", lambda g: g == "team", secure, now=NOW) == access.ALLOWED
    # a job reads its inputs on the server for its owner (creating it over plain HTTP from
    # elsewhere with credentials is refused: dachs_ext/processing_core.py)
    assert access.verdict(*rights, "alice", lambda g: g == "team", access.JOB, now=NOW) == access.ALLOWED


# ---- the ObsCore row of a product


def test_obscore_row(tmp_path):
    site = config.SiteConfig(authority="x", site_name="Test site", publisher_id="ivo://x")
    coverage = {"energy_min": 1, "energy_max": 30, "energy_bins": 3, "t_min": 53343.92,
                "t_max": 53347.93, "intervals": [[53343.92, 53343.94], [53347.91, 53347.93]],
                "livetime_s": 3163.5, "time_bins": 2}
    job = {"id": "abc_123", "ra": 83.633, "dec": 22.014, "on_radius": 0.11,
           "software": {"gammapy": "2.1"}}
    used = [dataset("23523"), dataset("23592")]
    for d in used:
        d.row.update(target_name="Crab Nebula", facility_name="H.E.S.S.",
                     instrument_name="H.E.S.S. Phase I")
    row = products.obscore_row(products.LIGHT_CURVE, job, coverage, used,
                               ("proprietary", MUCH_LATER, "team"), 20160, site, NOW)
    assert row["obs_publisher_did"] == "ivo://x/derived?abc_123-light-curve"
    assert (row["dataproduct_type"], row["calib_level"], row["obs_id"]) == ("light-curve", 4,
                                                                            "abc_123")
    assert (row["energy_min"], row["energy_max"]) == (1e12, 30e12)
    assert row["em_min"] == pytest.approx(1.2398419843320026e-06 / 30e12)
    assert (row["t_xel"], row["em_xel"], row["access_estsize"]) == (2, 3, 21)
    assert (row["data_rights"], row["obs_release_date"], row["owner"]) == (
        "proprietary", MUCH_LATER, "team")
    assert row["target_name"] == "Crab Nebula" and row["s_fov"] == pytest.approx(0.22)
    assert row["t_intervals"].startswith("t") and len(row["s_region"]) == 16
    public = products.obscore_row(products.FLUX_POINTS, job, coverage, used,
                                  ("public", None, None), 20160, site, NOW)
    assert public["obs_release_date"] == NOW  # public from when it was made
    assert set(row) == {c.name for c in schemas.columns_in("derived")}


# ---- the products' provenance


def test_provenance_records_of_a_job():
    from processing import publication

    site = config.SiteConfig(authority="x", site_name="Test site", publisher="A team")
    values = parse(ID=["ivo://x/hess_dr1?23523", "ivo://x/hess_dr1?23592"],
                   ENERGY_EDGES="1 3 10 30", TIME_EDGES="53343.92159722 53348.5")
    job = {"id": "abc_123", "started": NOW, "ended": LATER, "owner": "alice"}
    used = [dataset("23523"), dataset("23592")]
    rows = [{"obs_publisher_did": f"ivo://x/derived?abc_123-{kind.name}", "obs_title": kind.title,
             "data_rights": "public"} for kind in products.KINDS]
    report = {"software": {"gammapy": "2.1"}}
    records = publication.provenance_records(job, values, report, used, rows, site)
    assert [r.did for r in records] == [row["obs_publisher_did"] for row in rows]
    first = records[0].rows
    [activity] = first["activity"]
    assert (activity["id"], activity["name"], activity["version"]) == (
        "ivo://x/derived?abc_123", "gammapy", "2.1")
    assert {u["entity_id"] for u in first["used"]} == {d.did for d in used}
    assert {d["used_entity_id"] for d in first["wasderivedfrom"]} == {d.did for d in used}
    parameters = {p["name"]: (p["param_value"], p["unit"]) for p in first["parameter"]}
    assert parameters["ENERGY_EDGES"] == ("1 3 10 30", "TeV")
    assert parameters["TIME_EDGES"] == ("53343.92159722 53348.5", "d")
    assert parameters["ON_RADIUS"] == ("0.11", "deg") and "ID" not in parameters
    assert {a["role"] for a in first["wasassociatedwith"]} == {"operator", "requester"}
