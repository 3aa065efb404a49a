"""Progress of long runs (an ingest of 10^4 observations takes minutes), shown on a stream, usually stderr.

On a terminal, one line rewritten in place: count/total, rate and estimated time left. Anywhere else (a
log file, `make` output captured by CI) rewriting lines makes a mess, so a plain line is written every
`every` items or `interval` seconds, whichever comes first, and once at the end.
"""

import math
import sys
import time

# A terminal line is redrawn at most this often: redrawing for each of 10^4 fast items costs more than
# the items.
REDRAW_SECONDS = 0.1
CLEAR_LINE = "\r\033[K"  # carriage return, then erase to the end of the line (ANSI)


class Progress:
    """Counts items done out of `total` (None: unknown) and reports on `stream` (default: sys.stderr).

    Use as a context manager, or call finish() at the end; call clear() before writing anything else to
    the same terminal (the next advance() redraws the line). `clock` is for the tests.
    """

    def __init__(self, total=None, stream=None, label="", unit="obs", every=100, interval=10.0,
                 clock=time.monotonic):
        self.total, self.label, self.unit = total, label, unit
        self.stream = sys.stderr if stream is None else stream
        self.every, self.interval, self.clock = every, interval, clock
        self.tty = _isatty(self.stream)
        self.done = 0
        self.started = self.last_shown = clock()
        self.shown_done = 0
        self.drawn = False  # a terminal line is on the screen

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.finish()

    def advance(self, count=1):
        self.done += count
        now = self.clock()
        if self.tty:
            if now - self.last_shown >= REDRAW_SECONDS or self.done == self.total:
                self._draw(now)
        elif self.done - self.shown_done >= self.every or now - self.last_shown >= self.interval:
            self._log(now)

    def clear(self):
        """Erases the terminal line, so that other output starts on a clean line."""
        if self.tty and self.drawn:
            self.stream.write(CLEAR_LINE)
            self.stream.flush()
            self.drawn = False

    def finish(self):
        """The final report: the terminal line completed with a newline, or a last log line."""
        now = self.clock()
        if self.tty:
            if not self.drawn or self.shown_done != self.done:
                self._draw(now)
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
        elif self.done != self.shown_done or self.done == 0:
            self._log(now)

    def line(self, now=None):
        """'label: 50/105 obs, 12.5 obs/s, ETA 0:00:04' (no ETA without a total or a rate)."""
        now = self.clock() if now is None else now
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else None
        count = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        parts = [f"{count} {self.unit}"]
        if rate:
            parts.append(f"{rate:.1f} {self.unit}/s")
        if rate and self.total is not None and self.done < self.total:
            # rounded up: an ETA of 0:00:00 while work remains would be a lie
            parts.append(f"ETA {format_duration(math.ceil((self.total - self.done) / rate))}")
        elif self.total is not None and self.done >= self.total:
            parts.append(f"done in {format_duration(elapsed)}")
        prefix = f"{self.label}: " if self.label else ""
        return prefix + ", ".join(parts)

    def _draw(self, now):
        self.stream.write(CLEAR_LINE + self.line(now))
        self.stream.flush()
        self.drawn, self.last_shown, self.shown_done = True, now, self.done

    def _log(self, now):
        self.stream.write(self.line(now) + "\n")
        self.stream.flush()
        self.last_shown, self.shown_done = now, self.done


def format_duration(seconds):
    """'0:01:05' for 65 s (to the nearest second)."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
