"""stilts taplint, the community's TAP validator, on the live service.

Its report is kept in tests/artefacts/taplint.txt.  Every finding that remains is listed in the
README ("Validator findings") with its reason; this test fails on any other error.
"""

import os
import re
import subprocess

ARTEFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "artefacts")

# STILTS checks dataproduct_type against the ObsCore 1.1 REC list, which has "event" but not
# "event-list", the product-type vocabulary term the HE extension (and the spec this service
# follows) uses, and that HE queries select on; nor "light-curve", the vocabulary's term for the
# processing service's light curves (narrower than the REC's "timeseries").  This is that error
# (listing one or both values) and no other.
VOCABULARY_TERMS_NOT_IN_OBSCORE_1_1 = {"event-list", "light-curve"}
ILLEGAL_PRODUCT_TYPES = re.compile(r'E-OBS-ILOP\S* Illegal values? in column dataproduct_type:'
                                   r' ((?:"[^"]*"(?:, )?)+)')


def known(line):
    match = ILLEGAL_PRODUCT_TYPES.match(line)
    return bool(match) and set(re.findall(r'"([^"]*)"', match.group(1))) <= \
        VOCABULARY_TERMS_NOT_IN_OBSCORE_1_1


def test_taplint_finds_no_error_but_the_known_one(service):
    out = subprocess.run(["stilts", "taplint", f"tapurl={service.tap_url}", "maxrepeat=3"],
                         capture_output=True, text=True, timeout=900)
    report = out.stdout + out.stderr
    os.makedirs(ARTEFACTS, exist_ok=True)
    with open(os.path.join(ARTEFACTS, "taplint.txt"), "w") as f:
        f.write(report)
    assert re.search(r"Totals: Errors: \d+", report), report[-2000:]
    errors = [line for line in report.splitlines() if line.startswith("E-")]
    unexpected = [line for line in errors if not known(line)]
    assert not unexpected, "\n".join(unexpected)
