"""Why a document or a list fails: one `Reason` per finding, with the code customs would write.

Codes come from three sources, and each reason says which: ``official`` (the spec's negative business codes,
e.g. -621005), ``observed`` (customs-internal ``[Code:NNNN]`` values seen in real or mock receipts, e.g.
1313 annual limit), or ``cbec`` (ours, in the 9000 range, for checks the sources name but give no code).
Reasons render into ``returnInfo`` as ``[Code:NNNN;Desc:…]`` groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["official", "observed", "cbec"]


@dataclass(frozen=True, slots=True)
class Reason:
    """One finding of a clearance rule. `path` points at the field, e.g. ``Order/OrderHead/acturalPaid``."""

    code: str
    rule: str
    zh: str
    en: str
    source: Source = "cbec"
    path: str = ""
    #: the list may still pass on review: a finding for a human, not a rejection
    warning: bool = False

    @property
    def desc(self) -> str:
        """The Chinese text customs puts in returnInfo (Chinese only on the wire, as customs writes it)."""
        return self.zh
