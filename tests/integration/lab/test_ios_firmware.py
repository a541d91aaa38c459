"""Firmware on the lab's IOS-XE switch, as the toolkit does it on real gear: netmiko file_transfer (SCP into
flash:, free space and MD5 checked), verify, boot system / install mode, reload, and the faults of each step."""

from __future__ import annotations

import hashlib

import pytest
from netmiko import ConnectHandler, file_transfer
from paramiko import SSHException
from scp import SCPClient, SCPException

from lab.firmware_images import DEFAULT_IMAGE_SIZE, image_filename, make_image

pytestmark = pytest.mark.timeout(180)
SWITCH = "sw-core-01"
MODEL = "C9300-24P"


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("images")
    paths = {}
    for version in ("17.6.4", "17.9.5", "17.12.3"):
        path = folder / image_filename("cisco_ios", MODEL, version)
        path.write_bytes(make_image("cisco_ios", MODEL, version, DEFAULT_IMAGE_SIZE))
        paths[version] = path
    return paths


@pytest.fixture
def switch(fresh_lab):
    yield fresh_lab
    fresh_lab.control.clear_fault(SWITCH)
    fresh_lab.wait_until(SWITCH, reachable=True)


def connect(lab) -> ConnectHandler:
    return ConnectHandler(**lab.netmiko(SWITCH))


def upload(conn, path) -> dict:
    conn.send_config_set(["ip scp server enable"])
    return file_transfer(conn, source_file=str(path), dest_file=path.name, file_system="flash:",
                         overwrite_file=True)


def reload(conn, lab) -> None:
    """`reload` with its prompts, then wait until the switch booted again."""
    boots = lab.boot_count(SWITCH)
    output = conn.send_command("reload", expect_string=r"Save\?|\[confirm\]")
    if "Save?" in output:
        conn.send_command("yes", expect_string=r"\[confirm\]")
    conn.write_channel("\n")
    lab.wait_rebooted(SWITCH, boots)
    conn.disconnect()


def version_facts(lab) -> dict:
    with connect(lab) as conn:
        return conn.send_command("show version", use_textfsm=True)[0]


def test_upload_boot_system_reload_changes_the_version(switch, images):
    before = version_facts(switch)
    assert before["version"] == "17.6.4"
    image = images["17.9.5"]
    with connect(switch) as conn:
        assert upload(conn, image) == {"file_exists": True, "file_transferred": True, "file_verified": True}
        sha512 = hashlib.sha512(image.read_bytes()).hexdigest()
        assert f"Verified (flash:{image.name})" in conn.send_command(f"verify /sha512 flash:{image.name} {sha512}")
        conn.send_config_set(["no boot system", f"boot system flash:{image.name}",
                              f"boot system flash:{before['running_image']}"])
        conn.save_config()
        assert f"BOOT variable = flash:{image.name};flash:{before['running_image']};" in conn.send_command(
            "show boot")
        reload(conn, switch)
    after = version_facts(switch)
    assert after["version"] == "17.9.5" and after["running_image"] == image.name
    assert after["reload_reason"] == "Reload Command" and after["uptime"] == "0 minutes"
    with connect(switch) as conn:  # the uploaded file is still there: a second transfer is skipped
        assert upload(conn, image)["file_transferred"] is False


def test_corrupt_image_is_caught_by_md5_and_a_reload_falls_back(switch, images):
    image = images["17.12.3"]
    running = version_facts(switch)
    switch.control.set_fault(SWITCH, "corrupt_image")
    with connect(switch) as conn:
        with pytest.raises(ValueError, match="MD5"):
            upload(conn, image)
        switch.control.clear_fault(SWITCH, "corrupt_image")
        conn.send_config_set(["no boot system", f"boot system flash:{image.name}"])
        conn.save_config()
        reload(conn, switch)
    after = version_facts(switch)
    assert after["version"] == running["version"] and after["running_image"] == running["running_image"]
    assert after["reload_reason"].startswith(f"Image validation failed for flash:{image.name}")
    with connect(switch) as conn:
        assert f"flash:{image.name} failed image validation" in conn.send_command("show logging")
        conn.send_config_set(["no boot system", f"boot system flash:{running['running_image']}"])
        conn.save_config()


def test_install_mode_activate_commit_then_rollback_to_committed(switch, images):
    start = version_facts(switch)["version"]
    target = images["17.12.3"]
    with connect(switch) as conn:
        upload(conn, target)  # `ip scp server enable` left the running config unsaved
        refused = conn.send_command(f"install add file flash:{target.name} activate commit prompt-level none")
        assert "System configuration has been modified. Please save configuration" in refused
        conn.save_config()
        boots = switch.boot_count(SWITCH)
        conn.write_channel(f"install add file flash:{target.name} activate commit prompt-level none\n")
        switch.wait_rebooted(SWITCH, boots)
    facts = version_facts(switch)
    assert facts["version"] == "17.12.3" and facts["running_image"] == "packages.conf"
    with connect(switch) as conn:
        assert "IMG   C    17.12.03" in conn.send_command("show install summary")
        older = images["17.6.4"] if start != "17.6.4" else images["17.9.5"]
        upload(conn, older)
        conn.save_config()
        boots = switch.boot_count(SWITCH)
        conn.write_channel(f"install add file flash:{older.name} activate prompt-level none\n")  # no commit
        switch.wait_rebooted(SWITCH, boots)
    with connect(switch) as conn:
        assert "IMG   U" in conn.send_command("show install summary")
        boots = switch.boot_count(SWITCH)
        conn.write_channel("install rollback to committed prompt-level none\n")
        switch.wait_rebooted(SWITCH, boots)
    assert version_facts(switch)["version"] == "17.12.3"


def test_insufficient_flash_refuses_the_transfer(switch, tmp_path):
    path = tmp_path / "not-on-flash-yet.bin"
    path.write_bytes(make_image("cisco_ios", MODEL, "17.12.3", DEFAULT_IMAGE_SIZE))
    switch.control.set_fault(SWITCH, "insufficient_flash", free_bytes=4096)
    with connect(switch) as conn:
        assert "(4096 bytes free)" in conn.send_command("dir flash:")
        with pytest.raises(ValueError, match="Insufficient space"):
            upload(conn, path)
        # the switch itself enforces the space too, for clients that skip the check
        with SCPClient(conn.remote_conn.get_transport()) as scp, pytest.raises(SCPException, match="No space"):
            scp.put(str(path), f"flash:/{path.name}")
        assert "No such file" in conn.send_command(f"dir flash:{path.name}")


def test_connection_dropped_mid_transfer(switch, tmp_path):
    switch.control.set_fault(SWITCH, "drop_mid_transfer", after_bytes=32 * 1024)
    path = tmp_path / "cut-short.bin"
    path.write_bytes(make_image("cisco_ios", MODEL, "17.9.5", DEFAULT_IMAGE_SIZE))
    with connect(switch) as conn, pytest.raises((SCPException, SSHException, OSError, EOFError)):
        upload(conn, path)  # how the cut surfaces depends on timing: SCP error, reset, EOF
    with connect(switch) as conn:
        sizes = {f["name"]: int(f["size"]) for f in conn.send_command("dir flash:", use_textfsm=True)}
    assert sizes.get(path.name, 0) < DEFAULT_IMAGE_SIZE  # what reached flash is a truncated file


def test_device_never_comes_back_until_the_fault_is_cleared(switch):
    switch.control.set_fault(SWITCH, "no_return_after_reload")
    with connect(switch) as conn:
        reload_without_waiting(conn)
    switch.wait_until(SWITCH, reachable=False)
    assert switch.control.status()[SWITCH]["reachable"] is False
    with pytest.raises(pytest.fail.Exception):
        switch.wait_until(SWITCH, reachable=True, timeout=3)  # three reload times: still gone
    switch.control.clear_fault(SWITCH, "no_return_after_reload")  # someone power-cycles it
    switch.wait_until(SWITCH, reachable=True)


def test_boots_the_old_version_silently(switch, images):
    running = version_facts(switch)
    other = images["17.9.5"] if running["version"] != "17.9.5" else images["17.6.4"]
    switch.control.set_fault(SWITCH, "boots_old_version")
    with connect(switch) as conn:
        upload(conn, other)
        conn.send_config_set(["no boot system", f"boot system flash:{other.name}"])
        conn.save_config()
        reload(conn, switch)
    after = version_facts(switch)
    assert after["version"] == running["version"] and after["reload_reason"] == "Reload Command"


def test_saved_configuration_survives_a_reload_and_unsaved_changes_do_not(switch):
    with connect(switch) as conn:
        conn.send_config_set(["snmp-server location saved-rack-7"])
        conn.save_config()
        conn.send_config_set(["snmp-server contact unsaved-noc"])
        output = conn.send_command("reload", expect_string=r"Save\?")
        assert "System configuration has been modified" in output
        boots = switch.boot_count(SWITCH)
        conn.send_command("no", expect_string=r"\[confirm\]")
        conn.write_channel("\n")
        switch.wait_rebooted(SWITCH, boots)
    with connect(switch) as conn:
        running = conn.send_command("show running-config")
    assert "snmp-server location saved-rack-7" in running and "unsaved-noc" not in running


def reload_without_waiting(conn) -> None:
    output = conn.send_command("reload", expect_string=r"Save\?|\[confirm\]")
    if "Save?" in output:
        conn.send_command("no", expect_string=r"\[confirm\]")
    conn.write_channel("\n")
