"""The registry of pilot zones (综试区) and their offline industrial parks (线下产业园区).

* `tables` — reading operator files (CSV or XLSX, Chinese or English headers), shared with `cbec.assess`;
* `service` — zones, parks, enterprise links, supplied indicator values and zone status, one use case each;
* `cli` — ``cbec zones …``.
"""
