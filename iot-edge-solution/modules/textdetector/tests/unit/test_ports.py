"""The test harnesses' ports: restartable servers get ports outside the ephemeral range."""

from __future__ import annotations

import socket

import pytest
from ports import ephemeral_low, free_port, refused_port, steady_port, steady_ports


def test_steady_ports_are_free_distinct_and_below_the_ephemeral_range():
    low = ephemeral_low()
    ports = steady_ports(5)
    assert len(set(ports)) == 5
    for port in ports:
        assert 1024 <= port < low
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # free: raises if not


def test_a_bound_port_below_the_range_is_not_handed_out():
    with socket.socket() as held:
        held.bind(("127.0.0.1", steady_port()))
        taken = held.getsockname()[1]
        assert taken not in {steady_port() for _ in range(200)}


def test_free_port_is_ephemeral():
    assert free_port() >= ephemeral_low()


def test_a_refused_port_refuses_connections_and_cannot_be_taken():
    with refused_port() as port:
        with (
            pytest.raises(ConnectionRefusedError),
            socket.create_connection(("127.0.0.1", port), timeout=2),
        ):
            pass
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))
