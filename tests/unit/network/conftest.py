# -*- coding: utf-8 -*-
import copy
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import load_site_policy

REPO = Path(__file__).resolve().parents[3]
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def _lab_policy():
    return load_site_policy(str(REPO / "inventories/lab/site_policy.yml"))


@pytest.fixture
def policy(_lab_policy):
    """A fresh copy of the lab site policy (tests may mutate it)."""
    return copy.deepcopy(_lab_policy)


@pytest.fixture
def factory_running():
    return (DATA / "c9300_factory_running.txt").read_text()


@pytest.fixture
def policy_data(_lab_policy):
    """A fresh copy of the lab policy as a mapping, for tests that change it (then build the model from it)."""
    return copy.deepcopy(_lab_policy.raw)
