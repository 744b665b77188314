"""MQTT v5 plumbing shared by the MQTT sink and the MQTT snapshot source.

`auth.py`: broker address, TLS context and the Kubernetes service-account token
(K8S-SAT); `connection.py`: one paho-mqtt v5 client; `events.py`: CloudEvents in the
MQTT binding (binary and structured), both ways.
"""

from .auth import Broker, BrokerSetupError, broker_from_url
from .connection import Connection

__all__ = ["Broker", "BrokerSetupError", "broker_from_url", "Connection"]
