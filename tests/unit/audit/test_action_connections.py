"""The version_inventory action plugin's connection gathering: inventory precedence kept, templates rendered once."""

from __future__ import annotations

import jinja2

from ansible_collections.aiphone.hardening.plugins.action.version_inventory import _CachedRenderer, connection_of


class CountingTemplar:
    """Renders with plain Jinja2 and counts renders (stands in for Ansible's Templar in this offline test)."""

    def __init__(self):
        self.renders = 0
        self.variables = {}

    def copy_with_new_env(self, available_variables):
        copy = CountingTemplar.__new__(CountingTemplar)
        copy.variables, copy.parent = available_variables, self
        return copy

    def template(self, raw):
        self.parent.renders += 1
        text = jinja2.Environment(autoescape=False).from_string(raw).render(self.variables)  # noqa: S701 - not HTML
        return text if "{{" not in text else self.template(text)


GROUP_VAULT = "s3cret-from-vault"
GROUP_VARS = {"ansible_user": "admin", "ansible_password": "{{ vault_pw }}", "vault_pw": GROUP_VAULT,
              "ansible_host": "127.0.0.1"}


def _host(**overrides):
    return {**GROUP_VARS, **overrides}


def test_shared_template_is_rendered_once_and_overrides_win():
    templar = CountingTemplar()
    renderer = _CachedRenderer(templar)
    devices = [connection_of({"name": f"phone-{i}", "platform": "poly"}, _host(ansible_port=1000 + i), renderer)
               for i in range(50)]
    override = connection_of({"name": "sw-9", "platform": "cisco_ios"}, _host(vault_pw="host-own"), renderer)
    assert templar.renders == 2
    assert {d["password"] for d in devices} == {GROUP_VAULT} and override["password"] == "host-own"
    assert devices[3] == {"name": "phone-3", "platform": "poly", "host": "127.0.0.1", "port": 1003,
                          "username": "admin", "password": GROUP_VAULT}


def test_nested_templates_are_rendered_per_host():
    templar = CountingTemplar()
    renderer = _CachedRenderer(templar)
    nested = {"ansible_password": "{{ site_pw }}", "site_pw": "{{ vault_pw }}"}
    first = connection_of("a", {**nested, "vault_pw": "one"}, renderer)
    second = connection_of("b", {**nested, "vault_pw": "two"}, renderer)
    assert (first["password"], second["password"]) == ("one", "two")
    assert first["host"] == "a"
