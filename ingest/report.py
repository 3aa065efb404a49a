"""The summary of an ingest run: how many observations were added, updated, left unchanged, withdrawn
(gone from the index) or rejected, and why each rejected one was.

The ingest itself only reads; whoever writes the database (the DaCHS import, instance/) knows which
rows are new or changed and counts them here, then prints `render()` at the end of the run.
"""

from dataclasses import dataclass, field

OUTCOMES = ("added", "updated", "unchanged", "withdrawn", "rejected")


@dataclass
class Rejection:
    obs_id: str
    reason: str  # the IngestError as text: file[HDU] KEYWORD: what is wrong


@dataclass
class Summary:
    name: str = ""  # the collection
    counts: dict = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    rejections: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)  # wall time per stage of the run (plan, read, import)
    failure: str = None  # why the collection could not be read or published at all (None: it could)

    def count(self, outcome, number=1):
        if outcome not in self.counts:
            raise ValueError(f"unknown outcome {outcome!r}: one of {', '.join(OUTCOMES)}")
        self.counts[outcome] += number

    def reject(self, obs_id, reason):
        """A rejected observation; reason is an IngestError or a text (made one line)."""
        self.count("rejected")
        self.rejections.append(Rejection(str(obs_id), " ".join(str(reason).split())))

    def add_result(self, result, outcome):
        """Counts an ingest ObservationResult: its outcome if it has a row, a rejection if not."""
        if result.ok:
            self.count(outcome)
        else:
            self.reject(result.dataset, result.error)

    @property
    def observations(self):
        """Observations in the index this run read (withdrawn ones are no longer there)."""
        return sum(n for outcome, n in self.counts.items() if outcome != "withdrawn")

    @property
    def ok(self):
        return self.counts["rejected"] == 0 and self.failure is None

    def fail(self, reason):
        """The collection as a whole could not be read or published (what was published stays)."""
        self.failure = str(reason).strip()

    def render(self):
        """Multi-line text: one line of counts, then one line per rejected observation."""
        counts = ", ".join(f"{self.counts[outcome]} {outcome}" for outcome in OUTCOMES)
        prefix = f"{self.name}: " if self.name else ""
        if self.failure:
            return f"{prefix}not read, nothing changed: {self.failure}"
        lines = [f"{prefix}{self.observations} observations: {counts}"]
        if self.rejections:
            lines.append("rejected:")
            width = max(len(r.obs_id) for r in self.rejections)
            lines.extend(f"  {r.obs_id:<{width}}  {r.reason}" for r in self.rejections)
        return "\n".join(lines)
