"""Shared fixtures of the detection tests: the compiled queries (as committed) and a tiny event store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
COMPILED = REPO / "detections" / "compiled"


@pytest.fixture(scope="session")
def queries() -> dict[str, str]:
    return json.loads((COMPILED / "sqlite" / "queries.json").read_text())
