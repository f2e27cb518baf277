"""The web portal (门户) of the platform: pages for enterprises, regulators, operators and administrators.

`mount_portal(app, store, engine)` adds it to the FastAPI application of `cbec.api.create_app`.
"""

from __future__ import annotations

from cbec.web.app import mount_portal

__all__ = ["mount_portal"]
