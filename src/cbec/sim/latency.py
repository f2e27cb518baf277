"""Decision latencies of a benchmark run, kept in flat memory.

Every list a chunk decides waits the same time (until the chunk commits), so a run records one weighted
sample a chunk (or a request), not one float a list: a million-list run keeps some thousands of samples.
"""

from __future__ import annotations

from array import array

#: the list receipt statuses (CEB622) that decide a list: released, rejected, manual review, inspection
DECISIONS = frozenset({"800", "100", "300", "500"})


def decides(receipt_type: str, status: str) -> bool:
    """Whether a receipt is a decision on a list, the moment its latency is taken."""
    return receipt_type == "CEB622" and status in DECISIONS


class Latencies:
    """Weighted latency samples (seconds, how many decisions waited that long) and their percentiles."""

    def __init__(self) -> None:
        self.seconds = array("d")
        self.counts = array("q")

    def add(self, seconds: float, count: int = 1) -> None:
        if count > 0:
            self.seconds.append(seconds)
            self.counts.append(count)

    def extend(self, other: Latencies) -> None:
        self.seconds.extend(other.seconds)
        self.counts.extend(other.counts)

    def __len__(self) -> int:
        """How many decisions were timed (not how many samples are kept)."""
        return sum(self.counts)

    def __getstate__(self) -> tuple[bytes, bytes]:
        return self.seconds.tobytes(), self.counts.tobytes()

    def __setstate__(self, state: tuple[bytes, bytes]) -> None:
        self.seconds, self.counts = array("d"), array("q")
        self.seconds.frombytes(state[0])
        self.counts.frombytes(state[1])

    def percentile(self, share: float) -> float:
        """The latency at `share` (0.5: the median, 0.99: p99) of the timed decisions, in seconds (0 when
        none): the smallest latency with more than `share` of the decisions at or below it."""
        total = len(self)
        if total == 0:
            return 0.0
        rank = min(total - 1, int(total * share))
        seen = 0
        for seconds, count in sorted(zip(self.seconds, self.counts, strict=True)):
            seen += count
            if seen > rank:
                return seconds
        return max(self.seconds)
