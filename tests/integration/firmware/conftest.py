import pytest
from firmware_lab import start_phone_lab

from lab.phones.harness import BackgroundLoop


@pytest.fixture()
def phone_lab(tmp_path):
    with BackgroundLoop() as bg:
        lab = start_phone_lab(tmp_path, bg)
        try:
            yield lab
        finally:
            lab.stop()


@pytest.fixture()
def switch_lab(phone_lab):
    from firmware_lab import SwitchLab

    lab = SwitchLab(phone_lab)
    try:
        yield lab
    finally:
        lab.stop()
