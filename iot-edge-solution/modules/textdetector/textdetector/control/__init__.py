"""Control of a running module: live settings, module twin and direct methods."""

from .live import LIVE_KEYS, LiveSettings, LiveUpdate

__all__ = ["LIVE_KEYS", "LiveSettings", "LiveUpdate"]
