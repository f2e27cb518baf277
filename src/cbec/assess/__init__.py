"""The annual assessment of the pilot zones (考核评估) with an exit mechanism (退出机制).

* `maths` — pure: normalization (min–max, z-score, percentile), AHP weights with the consistency ratio,
  scores with explicit missing data, tiers by quotas or thresholds, ranks, the exit rule;
* `config` — the indicator system from a YAML file, checked as a whole;
* `service` — platform indicators per zone and year from the store, runs, history and zone status;
* `report` — ranking and scorecards as HTML (for the portal), XLSX and PNG charts;
* `cli` helpers live in `cbec.zones.cli` (``cbec zones assess …``).

Scores are floats: they are normalized, dimensionless numbers (weights × normalized values), not money.
"""
