"""The collector settings of intake processes (`cbec.runtime.tune_gc`), checked in a child process so the
test run's own collector stays as it is."""

from __future__ import annotations

import subprocess
import sys

from cbec.runtime import YOUNG


def test_tune_gc_collects_the_young_generation_less_often_and_freezes_what_is_loaded() -> None:
    code = (
        "import gc; from cbec.runtime import tune_gc; before = gc.get_freeze_count(); tune_gc(); "
        "print(gc.get_threshold()[0], gc.get_freeze_count() > before)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(YOUNG), "True"]
