"""The totp_enrolment module, run as Ansible runs it (a subprocess reading its arguments from a JSON file), on a
temporary secret directory. The accounts are `root` and `nobody`, which exist everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest

from ansible_collections.aiphone.hardening.plugins.modules import totp_enrolment

MODULE = Path(totp_enrolment.__file__)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the module keeps root-owned files (run as root)")


def run_module(tmp_path: Path, **args) -> dict:
    args.setdefault("directory", str(tmp_path / "mfa"))
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, str(MODULE), str(args_file)], capture_output=True, text=True, env=env,
                            check=False)
    return json.loads(result.stdout)


def test_creates_given_and_generated_secrets_root_only(tmp_path):
    result = run_module(tmp_path, users=["root", "nobody"], secrets={"root": SECRET})
    assert result["changed"] and result["created"] == ["root", "nobody"] and result["generated"] == ["nobody"]
    directory = tmp_path / "mfa"
    assert directory.stat().st_mode & 0o777 == 0o700
    root_file = (directory / "root").read_text().splitlines()
    assert root_file == [SECRET, '" RATE_LIMIT 3 30', '" WINDOW_SIZE 3', '" DISALLOW_REUSE', '" TOTP_AUTH']
    generated = (directory / "nobody").read_text().splitlines()[0]
    assert len(generated) == 32 and pyotp.TOTP(generated).now().isdigit()
    assert (directory / "nobody").stat().st_mode & 0o777 == 0o600
    assert SECRET not in json.dumps(result) and generated not in json.dumps(result)


def test_second_run_changes_nothing_and_keeps_pam_state(tmp_path):
    run_module(tmp_path, users=["root"], secrets={"root": SECRET})
    path = tmp_path / "mfa" / "root"
    # what pam_google_authenticator writes after logins: used codes and rate-limit timestamps
    state = path.read_text().replace('" DISALLOW_REUSE', '" DISALLOW_REUSE 59823011 59823012')
    state = state.replace('" RATE_LIMIT 3 30', '" RATE_LIMIT 3 30 1794816000')
    path.write_text(state)
    result = run_module(tmp_path, users=["root"], secrets={"root": SECRET})
    assert not result["changed"] and path.read_text() == state


def test_changed_options_and_new_secret_are_applied(tmp_path):
    run_module(tmp_path, users=["root"], secrets={"root": SECRET})
    result = run_module(tmp_path, users=["root"], secrets={"root": SECRET}, window_size=5)
    assert result["changed"] and result["updated"] == ["root"]
    assert '" WINDOW_SIZE 5' in (tmp_path / "mfa" / "root").read_text()
    new_secret = pyotp.random_base32(32)
    result = run_module(tmp_path, users=["root"], secrets={"root": new_secret})
    assert result["rekeyed"] == ["root"] and (tmp_path / "mfa" / "root").read_text().startswith(new_secret)


def test_generated_secret_is_kept_on_later_runs(tmp_path):
    run_module(tmp_path, users=["nobody"])
    first = (tmp_path / "mfa" / "nobody").read_text()
    assert not run_module(tmp_path, users=["nobody"])["changed"]
    assert (tmp_path / "mfa" / "nobody").read_text() == first


def test_check_mode_writes_nothing(tmp_path):
    result = run_module(tmp_path, users=["root"], secrets={"root": SECRET}, _ansible_check_mode=True)
    assert result["changed"] and result["created"] == ["root"]
    assert not (tmp_path / "mfa").exists()


def test_missing_accounts_and_stale_files_are_reported(tmp_path):
    run_module(tmp_path, users=["root", "nobody"])
    result = run_module(tmp_path, users=["root", "no-such-person"])
    assert result["missing_accounts"] == ["no-such-person"] and result["stale"] == ["nobody"]
    assert (tmp_path / "mfa" / "nobody").exists()
    result = run_module(tmp_path, users=["root"], remove_stale=True)
    assert result["changed"] and not (tmp_path / "mfa" / "nobody").exists()


@pytest.mark.parametrize("secret", ["SHORTSECRET", "JBSWY3DPEHPK3PXP\nJBSWY3DPEHPK3PXP", f"{SECRET}\n",
                                    "JBSWY3DPEHPK3PXP1890!!ABCDEFGH"])
def test_bad_secrets_are_refused_without_showing_them(tmp_path, secret):
    result = run_module(tmp_path, users=["root"], secrets={"root": secret})
    assert result.get("failed") and "not base32" in result["msg"]
    assert secret not in json.dumps(result)
    assert not (tmp_path / "mfa" / "root").exists()


@pytest.mark.parametrize("name", ["root\nevil", "root\n", "../etc", "Root", "a;b"])
def test_hostile_user_names_are_refused(tmp_path, name):
    result = run_module(tmp_path, users=[name])
    assert result.get("failed") and "must be a Linux user name" in result["msg"]
