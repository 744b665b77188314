"""The live annotated preview served on the health port (HEALTH_PORT).

`PreviewHub` (hub.py) is a sink that keeps the newest result of each source and draws
and encodes it only while someone watches; `Preview` (routes.py) serves GET /preview
and GET /preview.mjpg?source=N; `PreviewAccess` (access.py) decides who may watch.
"""

from __future__ import annotations

from .access import PreviewAccess
from .hub import PreviewHub
from .routes import Preview

__all__ = ["Preview", "PreviewAccess", "PreviewHub"]
