"""Callback plugin: the recap names every host a play targeted but never reached."""

from __future__ import annotations

DOCUMENTATION = r"""
name: site_lock
type: aggregate
short_description: List the hosts a stopped play never attempted
description:
  - At the end of the run, every host a play targeted but never ran a task on - because the play stopped
    early (e.g. all hosts of a C(serial) batch failed, or C(any_errors_fatal)) - is listed as C(not attempted)
    with the play's name, so that a device left untried is never silent.
  - Companion of P(aiphone.hardening.site_lock#module), which takes the site's run lock itself.
requirements:
  - enable in ansible.cfg C(callbacks_enabled = aiphone.hardening.site_lock)
"""

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "aiphone.hardening.site_lock"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.play = None
        self.targeted: dict[str, list[str]] = {}        # play name -> hosts it targets
        self.reached: set[tuple[str, str]] = set()      # (play name, host) that ran at least one task
        self.failing: set[str] = set()                    # plays where a host failed or was unreachable

    def v2_playbook_on_play_start(self, play):
        self.play = play
        try:
            inventory = play.get_variable_manager()._inventory
            # with `serial`, this is called per batch, the inventory restricted to it: ask without restrictions
            hosts = [h.name for h in inventory.get_hosts(play.hosts, ignore_restrictions=True)]
            known = self.targeted.setdefault(play.get_name(), [])
            known += [h for h in hosts if h not in known]
        except Exception:  # noqa: S110 - the recap of unattempted hosts is best effort
            pass

    def _reached(self, result, *_args, **_kwargs):
        if self.play is not None:
            self.reached.add((self.play.get_name(), result.host.get_name()))

    def _failed(self, result, *_args, **kwargs):
        self._reached(result)
        if self.play is not None and not kwargs.get("ignore_errors"):
            self.failing.add(self.play.get_name())

    v2_runner_on_ok = v2_runner_on_skipped = _reached
    v2_runner_on_failed = v2_runner_on_unreachable = _failed

    def v2_playbook_on_stats(self, stats):
        for play, hosts in self.targeted.items():
            missing = [h for h in hosts if (play, h) not in self.reached]
            if missing and play in self.failing:
                self._display.warning(f"not attempted: {', '.join(missing)} - play {play!r} stopped before "
                                      "reaching them (see the failures above); run again for these hosts")
