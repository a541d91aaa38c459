"""Lab firmware builds: deterministic, recognised by content, refused when damaged."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from ansible_collections.aiphone.hardening.plugins.module_utils.drivers.registry import has_capability
from lab.firmware_images import KNOWN_BUILDS, identify_image, image_filename, make_image, start_version
from lab.topology import LAB_POLICY


def test_a_build_is_deterministic_and_identified():
    first = make_image("cisco_ios", "C9300-24P", "17.9.5", 4096)
    assert first == make_image("cisco_ios", "C9300-24P", "17.9.5", 4096) and len(first) == 4096
    assert identify_image(first) == ("cisco_ios", "C9300-24P", "17.9.5")


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_damaged_images_are_not_recognised(damage):
    image = bytearray(make_image("cisco_ios", "C9300-24P", "17.9.5", 4096))
    if damage == "flip":
        image[3000] ^= 0x01
    elif damage == "truncate":
        image = image[:-1]
    else:
        image = bytearray(b"MZ" + bytes(4094))
    assert identify_image(bytes(image)) is None


def test_site_policy_baselines_carry_the_real_sha256_and_devices_start_older():
    policy = yaml.safe_load(LAB_POLICY.read_text())
    for baseline in policy["firmware_baselines"]:
        image = make_image(baseline["platform"], baseline["model"], baseline["version"])
        assert hashlib.sha256(image).hexdigest() == baseline["sha256"], baseline
        start = start_version(baseline["platform"], baseline["model"], baseline["version"])
        builds = KNOWN_BUILDS[(baseline["platform"], baseline["model"])]
        if has_capability(baseline["platform"], "firmware"):       # the rollout has something to upgrade
            assert builds.index(start) < builds.index(baseline["version"]), baseline
        else:                    # no firmware driver (WLC, AP): approved at the build they run, never outdated
            assert start == baseline["version"] == builds[0], baseline


def test_cisco_file_names():
    assert image_filename("cisco_ios", "C9300-24P", "17.9.5") == "cat9k_iosxe.17.09.05.SPA.bin"
    assert image_filename("cisco_ios", "C9200L-24P-4G", "17.6.4") == "cat9k_lite_iosxe.17.06.04.SPA.bin"
