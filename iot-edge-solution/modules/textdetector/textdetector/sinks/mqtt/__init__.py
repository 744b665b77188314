"""MQTT v5 sink: results, summaries, text events and source states as CloudEvents."""

from .sink import MqttSink, topic_segment

__all__ = ["MqttSink", "topic_segment"]
