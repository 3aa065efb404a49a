"""stilts taplint, the community's TAP validator, finds no error (warnings: see the README)."""

import os
import re
import subprocess

ARTEFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "artefacts")


def test_taplint_reports_no_errors(service):
    out = subprocess.run(["stilts", "taplint", f"tapurl={service.tap_url}", "maxrepeat=3"],
                         capture_output=True, text=True, timeout=900)
    report = out.stdout + out.stderr
    os.makedirs(ARTEFACTS, exist_ok=True)
    with open(os.path.join(ARTEFACTS, "taplint.txt"), "w") as f:
        f.write(report)
    totals = re.search(r"Totals: Errors: (\d+); Warnings: (\d+); .*Failures: (\d+)", report)
    assert totals, report[-2000:]
    errors = [line for line in report.splitlines() if line.startswith("E-")]
    assert int(totals.group(1)) == 0, "\n".join(errors)
