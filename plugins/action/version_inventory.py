"""Action plugin of aiphone.hardening.version_inventory: gathers the devices' connection variables on the controller.

With `device_hosts` (the policy's device entries, or names; those in `device_group`, default all, and not Linux
hosts, which Ansible reads itself), the connection of every device - ansible_host,
ansible_port, ansible_user, ansible_password, aiphone_known_hosts_file, with the usual inventory precedence - is
read here, once per host, instead of templating `hostvars[...]` attribute by attribute in the playbook: Jinja over
`hostvars` costs milliseconds per attribute and per host, i.e. most of the run at 1,000 devices. A templated value
(`"{{ vault_switch_password }}"`) is rendered once per distinct template and set of values it refers to, so a group
of 1,000 phones sharing one vaulted password renders it once. Then the module runs as usual.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

MODULE = "aiphone.hardening.version_inventory"
CONNECTION_VARS = {  # module option -> inventory variable
    "host": "ansible_host", "port": "ansible_port", "username": "ansible_user", "password": "ansible_password",
    "known_hosts_file": "aiphone_known_hosts_file",
}
_PARSER = SandboxedEnvironment()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        device_hosts = args.pop("device_hosts", None)
        group = set(task_vars["groups"].get(args.pop("device_group", None) or "all", []))
        if device_hosts:
            renderer = _CachedRenderer(self._templar)
            hostvars = task_vars["hostvars"]
            wanted = [entry for entry in device_hosts if _name(entry) in group and not _is_linux(entry)]
            args["devices"] = list(args.get("devices") or []) + [
                connection_of(entry, hostvars.raw_get(_name(entry)), renderer) for entry in wanted]
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        return result


def _is_linux(entry) -> bool:
    """Linux hosts are read by Ansible itself (facts), not through a device driver."""
    return isinstance(entry, dict) and entry.get("platform") == "linux"


def _name(entry) -> str:
    return entry["name"] if isinstance(entry, dict) else str(entry)


def connection_of(entry, host_vars: dict, renderer: _CachedRenderer) -> dict:
    """The module's `devices` entry for one host (platform from the policy entry, else the host's `platform`)."""
    name = _name(entry)
    device = {"name": name, "platform": (entry.get("platform") if isinstance(entry, dict) else None)
              or renderer.value(host_vars, "platform")}
    for option, variable in CONNECTION_VARS.items():
        value = renderer.value(host_vars, variable)
        if value is not None:
            device[option] = value
    device.setdefault("host", name)
    return device


def _is_template(value) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class _CachedRenderer:
    """Renders inventory values; a template is rendered once per distinct (template, objects it refers to).

    The cache holds the referenced objects themselves, so their ids cannot be reused by other objects while the
    cache lives: equal ids really mean the same values.
    """

    def __init__(self, templar):
        self.templar = templar
        self.names: dict[str, tuple[str, ...]] = {}
        self.rendered: dict[tuple, tuple] = {}

    def value(self, host_vars: dict, variable: str):
        raw = host_vars.get(variable)
        if not _is_template(raw):
            return raw
        names = self.names.get(raw)
        if names is None:
            names = self.names[raw] = tuple(sorted(meta.find_undeclared_variables(_PARSER.parse(raw))))
        referenced = tuple(host_vars.get(n) for n in names)
        if any(_is_template(obj) for obj in referenced):   # nested templates: their inputs are not in the key
            return self.templar.copy_with_new_env(available_variables=host_vars).template(raw)
        key = (raw, *(id(obj) for obj in referenced))
        if key not in self.rendered:
            rendered = self.templar.copy_with_new_env(available_variables=host_vars).template(raw)
            self.rendered[key] = (rendered, referenced)
        return self.rendered[key][0]
