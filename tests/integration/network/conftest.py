# -*- coding: utf-8 -*-
"""Fixtures of the network integration tests (the lab itself comes from tests/integration/conftest.py)."""

from __future__ import annotations

import pytest
from netmiko import ConnectHandler


@pytest.fixture(scope="module")
def switch_cli(fresh_lab):
    """Open a plain netmiko session to a lab switch (strict host keys), for looking at what the device holds."""
    sessions = []

    def connect(name: str):
        session = ConnectHandler(**fresh_lab.netmiko(name))
        session.enable()
        sessions.append(session)
        return session

    yield connect
    for session in sessions:
        session.disconnect()
