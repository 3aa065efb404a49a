"""The access rights the test instance is set up with (conftest.py) and test_access.py checks:
one proprietary H.E.S.S. observation, its owner group, a member and a user outside the group; and
one proprietary event subset of HAWC's observation (test_hawc.py), the other nine public."""

PROPRIETARY_OBS = "20303"
OWNER_GROUP = "hess_team"
RELEASE_DATE = "2099-01-01"
MEMBER = ("alice", "alice-pw")  # in OWNER_GROUP
OUTSIDER = ("bob", "bob-pw")  # a valid user, not in OWNER_GROUP
PROPRIETARY_SUBSET = "103000133-NN-9"  # of hawc_crab_pass4, owned by OWNER_GROUP until RELEASE_DATE
