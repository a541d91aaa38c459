# -*- coding: utf-8 -*-
"""Fixtures of the network integration tests (the lab itself comes from tests/integration/conftest.py)."""

from __future__ import annotations

import pytest
from netmiko import ConnectHandler


@pytest.fixture(scope="module")
def switch_cli(fresh_lab):
    """A plain netmiko session per lab switch/WLC (strict host keys, kept for the module), to look at the device."""
    sessions: dict = {}

    def connect(name: str):
        if name not in sessions or not sessions[name].is_alive():
            sessions[name] = ConnectHandler(**fresh_lab.netmiko(name))
            sessions[name].enable()
        return sessions[name]

    yield connect
    for session in sessions.values():
        session.disconnect()
