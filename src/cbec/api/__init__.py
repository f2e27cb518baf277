"""The HTTP API of the platform: enterprises send messages and collect their receipts (`create_app`)."""

from cbec.api.app import create_app

__all__ = ["create_app"]
