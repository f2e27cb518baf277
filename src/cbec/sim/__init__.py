"""The traffic simulator (`cbec simulate`): realistic, internally consistent import traffic as CEB messages,
with injected faults and the expected outcome of every declaration list written beside it.

Why it exists: the clearance engine has to be judged on traffic that looks like a pilot zone's day (many
enterprises, repeat buyers, peaks, bonded stock, broken and repeated messages), and the only honest judge is
a ground truth derived from the public rules rather than from the engine itself.

* `population` — zones, enterprises, consumers, the goods catalogue and the reference data it needs;
* `traffic` — trades over a day, faults, arrival order, and the expected outcome of each list;
* `output` — files (XML or DxpMsg), ``expected.jsonl``, ``reference/``, ``README.txt``;
* `truth` — the ground truth of a whole run, sorted on disk, so memory stays flat as runs grow;
* `check` — run the engine over a generated set and compare every decision with the ground truth;
* `cli` — the ``cbec simulate`` command.

Everything is synthetic: company codes, names, phone numbers, addresses and ID numbers (GB 11643 check digit
valid, sequence 000, which is never issued to a person).
"""

from __future__ import annotations

from cbec.sim.traffic import FAULTS, SimConfig

__all__ = ["FAULTS", "SimConfig"]
