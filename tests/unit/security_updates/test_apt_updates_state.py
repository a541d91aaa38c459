"""apt_updates_state: which sources need a refresh, and what `apt-get -s upgrade` still has pending.

data/apt-s-upgrade-bookworm-main-only-image.txt is the real output of `LC_ALL=C apt-get -s upgrade` on the lab base
image (localhost/debian-bookworm-ansible) after `apt-get update`: the image was built with bookworm main lists only,
so the first converge saw nothing pending while these 22 security updates were.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ansible_collections.aiphone.hardening.plugins.modules.apt_updates_state import (
    judge_source,
    parse_simulation,
    stamp_mtime,
)

DATA = Path(__file__).parent / "data"
DEFAULT_PATTERN = r"(?i)(^|[:/-])security\b|-security$"


def test_real_simulation_of_the_main_only_image_names_every_security_update():
    pending, kept_back = parse_simulation((DATA / "apt-s-upgrade-bookworm-main-only-image.txt").read_text(),
                                          DEFAULT_PATTERN)
    assert len(pending) == 22 and kept_back == []
    assert {"libssl3", "openssl", "libpam0g", "perl-base", "python3.11", "rsyslog"} <= {u["package"] for u in pending}
    assert all(u["security"] for u in pending)
    pam = next(u for u in pending if u["package"] == "libpam-modules-bin")    # trailing [dependency] notes
    assert pam == {"package": "libpam-modules-bin", "installed": "1.5.2-6+deb12u2", "candidate": "1.5.2-6+deb12u3",
                   "origins": ["Debian-Security:12/oldstable-security"], "security": True}


def test_updates_from_other_origins_are_not_security_and_kept_back_is_read():
    output = "\n".join([
        "Reading package lists...",
        "The following packages have been kept back:",
        "  linux-image-amd64 systemd",
        "The following packages will be upgraded:",
        "  tzdata libssl3",
        "Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.12/oldstable-updates [all])",
        "Inst libssl3 [3.0.11-1~deb12u2] (3.0.17-1~deb12u2 Debian:12.12/oldstable, "
        "Debian-Security:12/oldstable-security [amd64])",
        "Inst ubuntu-thing [1.0] (1.1 Ubuntu:22.04/jammy-security [amd64])",
        "Conf tzdata (2025b-0+deb12u1 Debian:12.12/oldstable-updates [all])",
    ])
    pending, kept_back = parse_simulation(output, DEFAULT_PATTERN)
    assert [(u["package"], u["security"]) for u in pending] == [("tzdata", False), ("libssl3", True),
                                                                 ("ubuntu-thing", True)]
    assert kept_back == ["linux-image-amd64", "systemd"]


def test_an_unreadable_inst_line_fails_loudly():
    with pytest.raises(ValueError, match="unexpected line in apt-get -s upgrade"):
        parse_simulation("Inst broken-line-without-parentheses\n", DEFAULT_PATTERN)


@pytest.mark.parametrize(("mtime", "lists", "stale", "reason"), [
    (None, 0, True, "no lists (never downloaded)"),          # a -security suite added after the last update
    (1000.0, 0, True, "a Release file but no Packages list"),
    (1000.0, 1, False, "lists 600 s old"),
    (1000.0 - 4000, 1, True, "lists 4600 s old (limit 3600 s)"),
])
def test_a_source_is_stale_without_lists_or_with_old_ones(mtime, lists, stale, reason):
    assert judge_source(mtime, lists, now=1600.0, max_age=3600)[:2] == (stale, reason)


@pytest.mark.parametrize(("mtime", "lists", "stamp", "stale", "reason", "age"), [
    # a suite unchanged on the mirror for hours, fetched 100 s ago: young (apt kept the mirror's date)
    (1600.0 - 20000, 1, 1500.0, False, "lists checked 100 s ago", 100),
    # the stamp is older than the lists: their own date counts
    (1000.0, 1, 900.0, False, "lists 600 s old", 600),
    # an old stamp does not make old lists young
    (1600.0 - 20000, 1, 1600.0 - 5000, True, "lists checked 5000 s ago (limit 3600 s)", 5000),
    # a fresh stamp never covers a source that has no lists (added after that refresh)
    (None, 0, 1590.0, True, "no lists (never downloaded)", None),
    (1000.0, 0, 1590.0, True, "a Release file but no Packages list", None),
    # a stamp from the future (clock stepped back) is not a negative age
    (1000.0, 1, 1700.0, False, "lists checked 0 s ago", 0),
])
def test_the_refresh_stamp_dates_lists_that_have_been_fetched(mtime, lists, stamp, stale, reason, age):
    assert judge_source(mtime, lists, now=1600.0, max_age=3600, refreshed=stamp) == (stale, reason, age)


def test_no_stamp_file_means_the_release_files_alone(tmp_path):
    assert stamp_mtime(str(tmp_path / "never-touched")) is None
    assert stamp_mtime("") is None
    (tmp_path / "stamp").write_text("")
    os.utime(tmp_path / "stamp", (1234.0, 1234.0))
    assert stamp_mtime(str(tmp_path / "stamp")) == 1234.0
