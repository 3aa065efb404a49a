"""Bad input, one case at a time (tests/corpus.py: real H.E.S.S. files, one observation damaged): the
ingest rejects only the damaged observation, with an error naming file, HDU and keyword and saying what
is wrong, and still reads the others; hostile but valid text is accepted exactly as given."""

import pytest

from ingest import IngestError, read_collection
from tests.corpus import CASES, OBS_IDS


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case, hess_dir, hess_collection, site, tmp_path):
    data_dir = case.build(tmp_path, hess_dir)
    results = {r.dataset: r for r in read_collection(hess_collection.with_data_dir(data_dir), site)}
    assert list(results) == list(OBS_IDS)
    for obs_id in case.good_obs_ids:
        assert results[obs_id].error is None, str(results[obs_id].error)
    bad = results[case.bad_obs_id]
    if case.accepted is not None:
        assert bad.error is None, str(bad.error)
        for column, value in case.accepted.items():
            assert bad.row[column] == value, column
        return
    assert bad.row is None and isinstance(bad.error, IngestError)
    message = str(bad.error)
    for fragment in case.fragments:
        assert fragment in message, (fragment, message)
    assert (bad.error.hdu, bad.error.keyword) == (case.hdu, case.keyword), message


def test_the_corpus_is_well_formed():
    """Distinct case names (they are directory names), and each rejection says what and where."""
    from tests.corpus import BAD_OBS_ID

    assert len({case.name for case in CASES}) == len(CASES)
    for case in CASES:
        assert case.bad_obs_id == BAD_OBS_ID and len(case.good_obs_ids) == 2
        assert (case.accepted is None) == bool(case.what), case.name
        if case.accepted is None:
            assert case.file and case.fragments[0] == case.file, case.name
