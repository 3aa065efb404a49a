"""ingest/staging.py: rows in PostgreSQL COPY text, every value back as it was (the live ingest tests
load them into PostgreSQL; here the format itself)."""

import datetime

import numpy as np

from ingest import staging


def test_copy_text_escapes_and_keeps_every_digit():
    rows = [{"a": "tab\there\\back\nline\rcr", "b": None, "c": 0.1 + 0.2, "d": 3,
             "e": datetime.datetime(2004, 12, 4, 22, 8, 10, 184000), "f": ((83.5, 22.0), (84.0, -1.25e-7))},
            {"a": "Crab Nébula", "c": float("nan"), "d": np.float64(0.5)}]
    text = staging.copy_text(rows, ["a", "b", "c", "d", "e", "f"])
    lines = text.split("\n")
    assert lines[2] == "" and len(lines) == 3  # one line a row: no raw newline inside a value
    assert lines[0].split("\t") == ["tab\\there\\\\back\\nline\\rcr", "\\N", "0.30000000000000004", "3",
                                    "2004-12-04T22:08:10.184000", "{(83.5d,22.0d),(84.0d,-1.25e-07d)}"]
    # a numpy float64 as a number, not numpy 2's "np.float64(0.5)"
    assert lines[1].split("\t") == ["Crab Nébula", "\\N", "nan", "0.5", "\\N", "\\N"]
