"""Transport-agnostic delivery shared by the IoT Hub and MQTT sinks.

`Outbox` (bounded, in order, retried with backoff while the transport is down),
`RateControl` (which frames become messages, interval summaries) and `TextEvents`
(each line of text read turned into one appearance when it ends).
"""

from .outbox import Outbox, wait_until
from .rate import Decision, RateControl
from .text_events import EndedAppearance, TextEvents

__all__ = ["Outbox", "wait_until", "Decision", "RateControl", "EndedAppearance", "TextEvents"]
