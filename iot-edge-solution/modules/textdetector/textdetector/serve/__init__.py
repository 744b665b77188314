"""HTTP scoring service: LVA/AVA extension, Custom Vision and KServe-v2-style health."""

from .app import create_app
from .server import serve

__all__ = ["create_app", "serve"]
