"""Progress (one updating line on a terminal, log lines elsewhere) and Summary (the end-of-run report)."""

import io

import pytest

from ingest.progress import CLEAR_LINE, Progress, format_duration
from ingest.report import Summary


class Stream(io.StringIO):
    """A stream that says whether it is a terminal."""

    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


class Clock:
    """A clock the test sets: `now` seconds, from 0 when the Progress is made."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def run(progress, clock, seconds_per_item, items):
    for _ in range(items):
        clock.now += seconds_per_item
        progress.advance()


def test_log_lines_every_n_items_on_a_non_terminal():
    stream, clock = Stream(tty=False), Clock()
    with Progress(10, stream, label="hess_dr1", every=4, interval=1e9, clock=clock) as progress:
        run(progress, clock, 0.5, 10)
    assert stream.getvalue().splitlines() == [
        "hess_dr1: 4/10 obs, 2.0 obs/s, ETA 0:00:03",
        "hess_dr1: 8/10 obs, 2.0 obs/s, ETA 0:00:01",
        "hess_dr1: 10/10 obs, 2.0 obs/s, done in 0:00:05",
    ]
    assert "\r" not in stream.getvalue()


def test_log_lines_every_t_seconds_on_a_non_terminal():
    stream, clock = Stream(tty=False), Clock()
    progress = Progress(100, stream, every=1000, interval=10.0, clock=clock)
    run(progress, clock, 3.0, 7)  # logged at 12 s (4 items); the next would be at 24 s
    assert stream.getvalue().splitlines() == ["4/100 obs, 0.3 obs/s, ETA 0:04:48"]
    progress.finish()
    assert stream.getvalue().splitlines()[-1] == "7/100 obs, 0.3 obs/s, ETA 0:04:39"


def test_a_single_updating_line_on_a_terminal():
    stream, clock = Stream(tty=True), Clock()
    progress = Progress(4, stream, label="check", clock=clock)
    run(progress, clock, 1.0, 2)
    assert stream.getvalue() == (CLEAR_LINE + "check: 1/4 obs, 1.0 obs/s, ETA 0:00:03"
                                 + CLEAR_LINE + "check: 2/4 obs, 1.0 obs/s, ETA 0:00:02")
    progress.clear()  # before other output to the same terminal
    assert stream.getvalue().endswith(CLEAR_LINE) and progress.drawn is False
    clock.now = 4.0
    progress.advance(2)
    progress.finish()
    assert stream.getvalue().endswith(CLEAR_LINE + "check: 4/4 obs, 1.0 obs/s, done in 0:00:04\n")
    assert stream.getvalue().count("\n") == 1


def test_a_terminal_line_is_not_redrawn_for_every_fast_item():
    stream, clock = Stream(tty=True), Clock()
    progress = Progress(1000, stream, clock=clock)
    run(progress, clock, 0.001, 1000)
    # one redraw per 0.1 s of the 1 s, and one for the last item
    assert 9 <= stream.getvalue().count(CLEAR_LINE) <= 11
    assert stream.getvalue().endswith("1000/1000 obs, 1000.0 obs/s, done in 0:00:01")


def test_unknown_total_and_nothing_done():
    stream, clock = Stream(tty=False), Clock()
    progress = Progress(None, stream, every=2, clock=clock)
    run(progress, clock, 1.0, 2)
    assert stream.getvalue() == "2 obs, 1.0 obs/s\n"
    empty, clock = Stream(tty=False), Clock()
    nothing = Progress(0, empty, label="x", clock=clock)
    clock.now = 1.0
    nothing.finish()
    assert empty.getvalue() == "x: 0/0 obs, done in 0:00:01\n"


def test_streams_without_isatty_count_as_non_terminals():
    class Bare:
        text = ""

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    bare = Bare()
    Progress(1, bare, clock=Clock()).finish()
    assert bare.text == "0/1 obs\n"


@pytest.mark.parametrize("seconds,text", [(0, "0:00:00"), (0.2, "0:00:00"), (65.4, "0:01:05"), (7201, "2:00:01")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


# ---- Summary


def test_summary_counts_and_reasons():
    summary = Summary("hess_dr1")
    summary.count("added", 100)
    summary.count("updated", 2)
    summary.count("unchanged")
    summary.count("withdrawn", 3)
    summary.reject("23523", "hess_dl3_dr1_obs_id_023523.fits.gz[EVENTS] MJDREFI: missing mandatory keyword")
    summary.reject(110380, "gps_baseline_110380.fits: file\nnot found")
    assert summary.observations == 105 and not summary.ok
    assert summary.render() == (
        "hess_dr1: 105 observations: 100 added, 2 updated, 1 unchanged, 3 withdrawn, 2 rejected\n"
        "rejected:\n"
        "  23523   hess_dl3_dr1_obs_id_023523.fits.gz[EVENTS] MJDREFI: missing mandatory keyword\n"
        "  110380  gps_baseline_110380.fits: file not found")


def test_summary_of_results_and_unknown_outcomes():
    from ingest import IngestError, ObservationResult

    summary = Summary()
    summary.add_result(ObservationResult("1", row={}), "added")
    summary.add_result(ObservationResult("2", error=IngestError("no events", "/d/a.fits", "EVENTS")), "added")
    assert summary.counts == {"added": 1, "updated": 0, "unchanged": 0, "withdrawn": 0, "rejected": 1}
    assert summary.render().splitlines() == [
        "2 observations: 1 added, 0 updated, 0 unchanged, 0 withdrawn, 1 rejected", "rejected:",
        "  2  a.fits[EVENTS]: no events"]
    with pytest.raises(ValueError, match="unknown outcome 'deleted'"):
        summary.count("deleted")
    assert Summary("x").render() == "x: 0 observations: 0 added, 0 updated, 0 unchanged, 0 withdrawn, 0 rejected"
