"""MFA and SSH hardening proved over real SSH (paramiko + pyotp) on Debian 12 and 13 hosts hardened by
playbooks/hosts.yml: key + correct code -> in; wrong code, no code, code without key, password -> refused; the
automation account gets in with its key alone; sudo asks for the code; secrets never appear in Ansible's output."""

from __future__ import annotations

import time

import paramiko
import pyotp
import pytest

from .conftest import HOSTS, SUDO_PASSWORD, HardenedHosts, podman, recap

# the shared fixture converges two hosts twice: minutes on a busy machine (timeouts are not measurements)
pytestmark = [pytest.mark.parametrize("host", sorted(HOSTS)), pytest.mark.timeout(2400)]
SECRET_DIR = "/var/lib/aiphone-hardening/mfa"
_used_steps: dict[tuple[str, str], set[int]] = {}


def secret_of(hosts: HardenedHosts, host: str, user: str) -> str:
    person = hosts.people[user]
    if person.secret:
        return person.secret
    return podman("exec", hosts.container(host), "head", "-n1", f"{SECRET_DIR}/{user}").strip()


def fresh_code(hosts: HardenedHosts, host: str, user: str) -> str:
    """A valid code not used before on this host (the PAM module refuses a reused code: DISALLOW_REUSE)."""
    totp = pyotp.TOTP(secret_of(hosts, host, user))
    used = _used_steps.setdefault((host, user), set())
    while True:
        now = int(time.time()) // 30
        for step in (now, now - 1, now + 1):  # WINDOW_SIZE 3: previous, current and next code are valid
            if step not in used:
                used.add(step)
                return totp.at(step * 30)
        time.sleep(30 - time.time() % 30 + 0.5)


def wrong_code(hosts: HardenedHosts, host: str, user: str) -> str:
    totp = pyotp.TOTP(secret_of(hosts, host, user))
    valid = {totp.at(time.time() + offset) for offset in (-60, -30, 0, 30, 60)}
    return next(code for code in (f"{n:06d}" for n in range(123456, 999999, 7919)) if code not in valid)


def open_transport(hosts: HardenedHosts, host: str) -> paramiko.Transport:
    address = hosts.address(host)
    transport = paramiko.Transport((address, 22))
    transport.banner_timeout = transport.auth_timeout = 60  # the machine is shared; refusals are not timeouts
    transport.start_client(timeout=60)
    known = paramiko.HostKeys(str(hosts.known_hosts()))
    server_key = transport.get_remote_server_key()
    assert known.check(address, server_key), f"{host}: host key does not match the lab's known_hosts"
    return transport


def login(hosts: HardenedHosts, host: str, user: str, *, key=None, code=None, password=None,
          kbd_first=False) -> paramiko.Transport:
    transport = open_transport(hosts, host)

    def answer_code():
        transport.auth_interactive(user, lambda _title, _instructions, prompts: [code] * len(prompts))

    steps = []
    if key is not None:
        steps.append(lambda: transport.auth_publickey(user, key))
    if code is not None:
        steps.insert(0 if kbd_first else len(steps), answer_code)
    if password is not None:
        steps.append(lambda: transport.auth_password(user, password))
    try:
        for step in steps:
            step()
    except (paramiko.AuthenticationException, paramiko.BadAuthenticationType):
        pass
    return transport


def run(transport: paramiko.Transport, command: str, stdin: str = "") -> tuple[int, str]:
    channel = transport.open_session(timeout=15)
    channel.settimeout(30)
    channel.exec_command(command)
    if stdin:
        channel.sendall(stdin.encode())
    channel.shutdown_write()
    output = b""
    while chunk := channel.recv(4096):
        output += chunk
    return channel.recv_exit_status(), output.decode().strip()


def assert_refused(transport: paramiko.Transport) -> None:
    try:
        assert not transport.is_authenticated()
        with pytest.raises(paramiko.SSHException):
            transport.open_session(timeout=5)
    finally:
        transport.close()


def test_person_with_key_and_correct_code_gets_in(hardened_hosts, host):
    for user in ("sofia", "marc"):  # vault-supplied secret, then a secret generated on the host
        transport = login(hardened_hosts, host, user, key=hardened_hosts.people[user].key,
                          code=fresh_code(hardened_hosts, host, user))
        try:
            assert transport.is_authenticated(), f"{user} with key + correct code was refused on {host}"
            assert run(transport, "id -un") == (0, user)
        finally:
            transport.close()


def test_key_with_wrong_code_is_refused(hardened_hosts, host):
    person = hardened_hosts.people["sofia"]
    assert_refused(login(hardened_hosts, host, "sofia", key=person.key,
                         code=wrong_code(hardened_hosts, host, "sofia")))


def test_key_without_code_is_refused(hardened_hosts, host):
    person = hardened_hosts.people["sofia"]
    transport = open_transport(hardened_hosts, host)
    remaining = transport.auth_publickey("sofia", person.key)
    assert remaining == ["keyboard-interactive"], "the key alone must only be a partial success"
    assert_refused(transport)
    assert_refused(login(hardened_hosts, host, "sofia", key=person.key, code=""))


def test_code_without_key_and_password_are_refused(hardened_hosts, host):
    assert_refused(login(hardened_hosts, host, "sofia", code=fresh_code(hardened_hosts, host, "sofia"),
                         kbd_first=True))
    assert_refused(login(hardened_hosts, host, "sofia", password=SUDO_PASSWORD))


def test_automation_account_gets_in_with_its_key_alone(hardened_hosts, host):
    transport = login(hardened_hosts, host, "aiphone-automation", key=hardened_hosts.automation_key)
    try:
        assert transport.is_authenticated()
        assert run(transport, "sudo -n id -un") == (0, "root")
    finally:
        transport.close()


def test_sudo_asks_for_the_code_after_the_password(hardened_hosts, host):
    person = hardened_hosts.people["sofia"]
    transport = login(hardened_hosts, host, "sofia", key=person.key, code=fresh_code(hardened_hosts, host, "sofia"))
    try:
        assert transport.is_authenticated()
        wrong = wrong_code(hardened_hosts, host, "sofia")
        status, _ = run(transport, "sudo -k; sudo -S -p '' id -un", stdin=f"{SUDO_PASSWORD}\n{wrong}\n")
        assert status != 0, "sudo accepted a wrong TOTP code"
        status, _ = run(transport, "sudo -k; sudo -S -p '' id -un", stdin=f"{SUDO_PASSWORD}\n")
        assert status != 0, "sudo accepted the password without a TOTP code"
        code = fresh_code(hardened_hosts, host, "sofia")
        assert run(transport, "sudo -k; sudo -S -p '' id -un", stdin=f"{SUDO_PASSWORD}\n{code}\n") == (0, "root")
    finally:
        transport.close()


def test_secrets_never_appear_in_ansible_output(hardened_hosts, host):
    output = "".join(run.stdout + run.stderr for run in (hardened_hosts.first_run, hardened_hosts.second_run))
    for user in ("sofia", "marc"):
        secret = secret_of(hardened_hosts, host, user)
        assert len(secret) >= 26
        assert secret not in output
    mode = podman("exec", hardened_hosts.container(host), "stat", "-c", "%a %U", SECRET_DIR, f"{SECRET_DIR}/marc")
    directory_mode, directory_owner, file_mode, file_owner = mode.split()
    # the module writes 0600; pam_google_authenticator rewrites the file 0400 after a login: root-only either way
    assert (directory_mode, directory_owner, file_owner) == ("700", "root", "root") and file_mode in ("400", "600")


def test_second_converge_changes_nothing(hardened_hosts, host):
    assert recap(hardened_hosts.second_run.stdout)[host]["changed"] == 0, hardened_hosts.second_run.stdout[-4000:]
