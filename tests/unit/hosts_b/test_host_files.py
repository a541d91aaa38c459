"""aiphone.hardening.host_files, run as Ansible runs a module (a JSON argument file, a separate process), on real files.

Owner and group are the test process's own user (root in CI), so the tests also hold on a non-root machine.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MODULE = REPO / "plugins" / "modules" / "host_files.py"
USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def run(tmp_path: Path, files: list[dict], check: bool = False, diff: bool = True) -> dict:
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"files": files, "_ansible_check_mode": check,
                                                        "_ansible_diff": diff}}))
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}")
    done = subprocess.run([sys.executable, str(MODULE), str(args)], capture_output=True, text=True, env=env,
                          check=False)
    return json.loads(done.stdout)


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def entry(path: Path, **settings) -> dict:
    return {"path": str(path), "owner": USER, "group": GROUP, **settings}


def test_files_are_written_with_their_mode_then_a_second_run_changes_nothing(tmp_path):
    target = tmp_path / "etc"
    target.mkdir()
    files = [entry(target / "issue", content="Authorised use only\n", mode="0644"),
             entry(target / "secret.conf", content="key=1\n", mode="0600", diff=False)]
    first = run(tmp_path, files)
    assert first["changed"] and first["changed_paths"] == [str(target / "issue"), str(target / "secret.conf")]
    assert (target / "issue").read_text() == "Authorised use only\n"
    assert mode(target / "secret.conf") == "0o600"
    assert "key=1" not in json.dumps(first["diff"])            # diff=false: the content is not shown
    second = run(tmp_path, files)
    assert not second["changed"] and second["changed_paths"] == [] and second["diff"] == []
    assert "diff" not in run(tmp_path, files, diff=False)          # without --diff, no diff (and no content)
    assert sorted(os.listdir(target)) == ["issue", "secret.conf"]     # no temporary left beside them


def test_a_drifted_mode_or_content_is_fixed_and_shown_in_the_diff(tmp_path):
    target = tmp_path / "motd"
    target.write_text("old\n")
    target.chmod(0o666)
    result = run(tmp_path, [entry(target, content="new\n", mode="0644")])
    assert result["changed_paths"] == [str(target)]
    assert result["diff"][0]["before"] == "old\n" and result["diff"][0]["after"] == "new\n"
    assert target.read_text() == "new\n" and mode(target) == "0o644"
    target.chmod(0o600)
    result = run(tmp_path, [entry(target, content="new\n", mode="0644")])
    assert result["changed"] and result["files"][0]["attributes"] and not result["files"][0]["content"]
    assert mode(target) == "0o644"


def test_check_mode_reports_the_plan_and_writes_nothing(tmp_path):
    existing = tmp_path / "a.conf"
    existing.write_text("a=1\n")
    existing.chmod(0o644)
    plan = run(tmp_path, [entry(existing, content="a=2\n", mode="0600"),
                          entry(tmp_path / "new.conf", content="b\n", mode="0600"),
                          entry(tmp_path / "dir", state="directory", mode="0750")], check=True)
    assert plan["changed_paths"] == [str(existing), str(tmp_path / "new.conf"), str(tmp_path / "dir")]
    assert existing.read_text() == "a=1\n" and mode(existing) == "0o644"
    assert not (tmp_path / "new.conf").exists() and not (tmp_path / "dir").exists()


def test_a_content_that_fails_validation_leaves_the_old_file_and_names_it(tmp_path):
    target = tmp_path / "sudoers"
    target.write_text("good\n")
    files = [entry(target, content="bad\n", mode="0440", validate="grep -q good %s")]
    result = run(tmp_path, files)
    assert result["failed"] and str(target) in result["msg"] and "validation" in result["msg"]
    assert target.read_text() == "good\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["args.json", "sudoers"]
    passed = run(tmp_path, [entry(target, content="good again\n", mode="0440", validate="grep -q good %s")])
    assert passed["changed"] and target.read_text() == "good again\n" and mode(target) == "0o440"


def test_a_new_file_never_exists_with_a_wider_mode_than_asked(tmp_path):
    # the validate command runs on the temporary while it is the only copy: its mode is already private
    probe = tmp_path / "seen"
    target = tmp_path / "totp.conf"
    run(tmp_path, [entry(target, content="x\n", mode="0600", validate=f"cp --preserve=mode %s {probe}")])
    assert mode(target) == "0o600" and mode(probe) == "0o600"


def test_lines_behave_like_lineinfile_regexp_and_line(tmp_path):
    target = tmp_path / "login.defs"
    target.write_text("# comment\n#UMASK\t022\nPASS_MAX_DAYS\t99999\nPASS_MAX_DAYS\t5\nOTHER x\n")
    target.chmod(0o644)
    lines = [{"regexp": r"^#?UMASK\s", "line": "UMASK\t027"},
             {"regexp": r"^#?PASS_MAX_DAYS\s", "line": "PASS_MAX_DAYS\t90"},
             {"regexp": r"^#?ENCRYPT_METHOD\s", "line": "ENCRYPT_METHOD\tYESCRYPT"}]
    result = run(tmp_path, [{"path": str(target), "state": "lines", "lines": lines}])
    assert result["changed"]
    # the last match replaced (as lineinfile does), a missing key appended, the rest and the mode untouched
    assert target.read_text() == ("# comment\nUMASK\t027\nPASS_MAX_DAYS\t99999\nPASS_MAX_DAYS\t90\nOTHER x\n"
                                  "ENCRYPT_METHOD\tYESCRYPT\n")
    assert mode(target) == "0o644"
    assert not run(tmp_path, [{"path": str(target), "state": "lines", "lines": lines}])["changed"]


def test_lines_refuse_a_missing_file_unless_asked_to_create_it(tmp_path):
    target = tmp_path / "aliases"
    line = [{"regexp": r"^root\s*:", "line": "root: it@example.org"}]
    refused = run(tmp_path, [{"path": str(target), "state": "lines", "lines": line}])
    assert refused["failed"] and str(target) in refused["msg"] and not target.exists()
    # a dry run before the package that ships the file is installed passes over it (aide.conf in os_baseline)
    skipped = run(tmp_path, [{"path": str(target), "state": "lines", "lines": line, "missing": "skip"}], check=True)
    assert not skipped["changed"] and skipped["files"][0]["skipped"] == "missing" and not target.exists()
    made = run(tmp_path, [entry(target, state="lines", lines=line, create=True, mode="0644")])
    assert made["changed"] and target.read_text() == "root: it@example.org\n" and mode(target) == "0o644"


def test_directories_attributes_and_absent(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    stale = tmp_path / "old.conf"
    stale.write_text("x")
    result = run(tmp_path, [entry(tmp_path / "d", state="directory", mode="0750"),
                            entry(home, state="attributes", mode="0750"),
                            entry(tmp_path / "gone", state="attributes", mode="0750", missing="skip"),
                            {"path": str(stale), "state": "absent"}])
    assert result["changed_paths"] == [str(tmp_path / "d"), str(home), str(stale)]
    assert mode(tmp_path / "d") == "0o750" and mode(home) == "0o750" and not stale.exists()
    assert result["files"][2]["skipped"] == "missing"
    missing = run(tmp_path, [entry(tmp_path / "gone", state="attributes", mode="0750")])
    assert missing["failed"] and str(tmp_path / "gone") in missing["msg"]


@pytest.mark.parametrize("bad, words", [
    ({"path": "relative/file", "content": "x", "mode": "0644"}, "absolute"),
    ({"path": "/tmp/x/../etc/passwd", "content": "x", "mode": "0644"}, "absolute"),
    ({"path": "/tmp/x", "content": "x", "mode": "rw-r--r--"}, "octal"),
    ({"path": "/tmp/x", "content": "x"}, "needs a mode"),
    ({"path": "/tmp/x", "state": "lines", "lines": [{"regexp": "(", "line": "a"}]}, "regexp"),
    ({"path": "/tmp/x", "state": "lines", "lines": [{"regexp": "a", "line": "a\nb"}]}, "single line"),
])
def test_bad_entries_are_refused_naming_the_path(tmp_path, bad, words):
    result = run(tmp_path, [bad])
    assert result["failed"] and words in result["msg"] and bad["path"] in result["msg"]


def test_entries_before_a_failure_are_whole_and_reported(tmp_path):
    first = tmp_path / "first"
    result = run(tmp_path, [entry(first, content="1\n", mode="0644"),
                            entry(tmp_path / "no-dir" / "second", content="2\n", mode="0644")])
    assert result["failed"] and "no-dir" in result["msg"]
    assert result["changed_paths"] == [str(first)] and first.read_text() == "1\n"


def test_a_temporary_left_by_a_killed_run_is_removed_by_the_next_one(tmp_path):
    """kill -9 while `validate` runs: the new content sits in a root-only temporary beside the target. The next call
    on that file (a no-op) removes it once it is older than a write in progress could be; a young one, another
    file's, a link or a lookalike name stay; check mode only warns."""
    target = tmp_path / "sshd_config"
    target.write_text("PermitRootLogin no\n")
    os.chmod(target, 0o600)
    marker = tmp_path / "validating"
    args = tmp_path / "slow.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"files": [entry(
        target, content="PasswordAuthentication no\n", mode="0600",
        validate=f"sh -c 'touch {marker}; sleep 30' %s")]}}))
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'collections'}{os.pathsep}{REPO}")
    slow = subprocess.Popen([sys.executable, str(MODULE), str(args)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(200):
            if marker.exists() or slow.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), "the module never reached its validate step"
    finally:
        os.killpg(slow.pid, 9)
        slow.wait()
    [left] = [p for p in tmp_path.iterdir() if p.name.startswith(".sshd_config.host_files-")]
    assert left.read_text() == "PasswordAuthentication no\n" and mode(left) == "0o600"
    assert target.read_text() == "PermitRootLogin no\n"               # the target itself is untouched

    young = tmp_path / ".sshd_config.host_files-young000"
    young.write_text("x")
    other = tmp_path / ".issue.host_files-abcdefgh"
    other.write_text("x")
    lookalike = tmp_path / ".sshd_config.host_files-notmine-at-all"
    lookalike.write_text("x")
    link = tmp_path / ".sshd_config.host_files-link0000"
    link.symlink_to(target)
    old = time.time() - 600
    for path in (left, other, lookalike):
        os.utime(path, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)

    noop = [entry(target, content="PermitRootLogin no\n", mode="0600")]
    planned = run(tmp_path, noop, check=True)
    assert not planned["changed"] and left.exists() and planned["leftovers_removed"] == []
    assert str(left) in json.dumps(planned["warnings"])           # (ansible-core >= 2.19 returns warning objects)
    done = run(tmp_path, noop)
    assert not done["changed"] and done["leftovers_removed"] == [str(left)]
    assert "left by an interrupted run" in json.dumps(done["warnings"])
    assert not left.exists()
    assert young.exists() and other.exists() and lookalike.exists() and link.is_symlink()


# --- state=ini: the bytes community.general.ini_file writes, one run per setting, in one atomic write. Parity is
# measured, not assumed: the real ini_file module (the copy in the pinned `ansible` package) runs once per setting
# on one copy of each file, host_files once on another, and the bytes are compared - on Debian 12's own
# /etc/ssl/openssl.cnf (the file tls_policy edits; the controller runs the same openssl package as the lab hosts)
# and on the shapes ini_file handles its own way (a commented-out option, an option twice, a missing section, no
# final newline, a byte-order mark, an empty file).
INI_FILE = "ansible_collections.community.general.plugins.modules.ini_file"   # run with -m: its directory holds a
# module named pkgutil, which would shadow the standard library's as the script's own directory on sys.path
TLS_SETTINGS = [  # roles/tls_policy: what it asks of openssl.cnf
    {"section": "openssl_init", "option": "ssl_conf", "value": "ssl_sect"},
    {"section": "ssl_sect", "option": "system_default", "value": "system_default_sect"},
    {"section": "system_default_sect", "option": "MinProtocol", "value": "TLSv1.2"},
    {"section": "system_default_sect", "option": "CipherString", "value": "DEFAULT@SECLEVEL=2"},
]


def ini_file(tmp_path: Path, path: Path, setting: dict) -> dict:
    args = tmp_path / "ini_args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"path": str(path), **setting, "mode": "0644"}}))
    done = subprocess.run([sys.executable, "-m", INI_FILE, str(args)], cwd=tmp_path, capture_output=True, text=True,
                          check=False, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    return json.loads(done.stdout)


def both(tmp_path: Path, original: bytes, settings: list[dict]) -> tuple[bytes, bytes, dict]:
    theirs, ours = tmp_path / "theirs.cnf", tmp_path / "ours.cnf"
    theirs.write_bytes(original)
    ours.write_bytes(original)
    for setting in settings:
        assert not ini_file(tmp_path, theirs, setting).get("failed")
    result = run(tmp_path, [{"path": str(ours), "state": "ini", "settings": settings, "owner": USER, "group": GROUP,
                             "mode": "0644"}])
    assert not result.get("failed"), result
    return theirs.read_bytes(), ours.read_bytes(), result


@pytest.mark.skipif(not Path("/etc/ssl/openssl.cnf").is_file(), reason="needs Debian's /etc/ssl/openssl.cnf")
def test_debian_openssl_cnf_gets_the_bytes_ini_file_gives_it_and_a_second_run_changes_nothing(tmp_path):
    original = Path("/etc/ssl/openssl.cnf").read_bytes()
    theirs, ours, first = both(tmp_path, original, TLS_SETTINGS)
    assert ours == theirs and ours != original and first["changed"]
    assert b"\n[system_default_sect]\nMinProtocol = TLSv1.2\nCipherString = DEFAULT@SECLEVEL=2\n" in ours
    again = run(tmp_path, [{"path": str(tmp_path / "ours.cnf"), "state": "ini", "settings": TLS_SETTINGS}])
    assert not again["changed"]
    # a policy change later (TLS 1.3 minimum): still the same bytes as ini_file's
    stricter = [*TLS_SETTINGS[:2], {**TLS_SETTINGS[2], "value": "TLSv1.3"}, TLS_SETTINGS[3]]
    theirs, ours, _ = both(tmp_path, ours, stricter)
    assert ours == theirs and b"MinProtocol = TLSv1.3\n" in ours and b"TLSv1.2" not in ours


@pytest.mark.parametrize("original", [
    b"[a]\n#MinProtocol = TLSv1\nx = 1\n\n[b]\ny = 2\n",              # commented out: ini_file takes it over
    b"[a]\nMinProtocol = TLSv1\nMinProtocol=TLSv1.1\n; note\n\n[b]\n",  # twice: one stays, with the value
    b"[a]\nMinProtocol = TLSv1.2\n  MinProtocol = TLSv1\n",            # the value already there, then another
    b"[b]\ny = 2",                                                    # no section a, no final newline
    b"\xef\xbb\xbf[a]\nx = 1\n",                                        # a byte-order mark
    b"",                                                              # empty
    b"top = 1\n[a]\n\n\n# trailing comment\n[c]\n",                   # insert after the last setting, before blanks
])
def test_the_shapes_ini_file_handles_its_own_way_give_its_bytes(tmp_path, original):
    settings = [{"section": "a", "option": "MinProtocol", "value": "TLSv1.2"},
                {"section": "a", "option": "x", "value": "2"}, {"section": "c", "option": "z", "value": "3"}]
    theirs, ours, _ = both(tmp_path, original, settings)
    assert ours == theirs, (theirs, ours)


@pytest.mark.parametrize(("setting", "words"), [
    ({"section": "a]\n[evil", "option": "x", "value": "1"}, "settings[0] needs a section"),
    ({"section": "a", "option": "x = 1\nevil", "value": "1"}, "settings[0] needs a section"),
    ({"section": "a", "option": "x", "value": "1\n[evil]"}, "settings[0] needs a section"),
    ({"section": "a", "option": "", "value": "1"}, "settings[0] needs a section"),
    ({"section": "a", "option": "x"}, "settings[0] needs a section"),
])
def test_a_setting_that_could_inject_lines_or_sections_is_refused(tmp_path, setting, words):
    target = tmp_path / "x.cnf"
    target.write_text("[a]\n")
    result = run(tmp_path, [{"path": str(target), "state": "ini", "settings": [setting]}])
    assert result["failed"] and words in result["msg"] and str(target) in result["msg"]
    assert target.read_text() == "[a]\n"
