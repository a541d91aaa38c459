# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter of the voice_edge role; the logic lives in module_utils/voice_edge_render.py (pure, unit-tested).

``voice_edge_files``  policy, listen_address=..., passwords=..., topoh_key=..., cert_file=..., key_file=...,
                      agent_ca_file=... -> {kamailio_cfg, tls_cfg, subscriber, version, rtpengine_conf,
                      fail2ban_filter, fail2ban_jail, rtp_ports}
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import (
    PolicyError,
    SitePolicy,
    site_policy_from_data,
)
from ansible_collections.aiphone.hardening.plugins.module_utils.voice_edge_render import (
    VoiceRenderError,
    render_edge,
)


def _files(policy, **options):
    try:
        model = policy if isinstance(policy, SitePolicy) else site_policy_from_data(policy, "aiphone_site_policy")
        return render_edge(model, **options)
    except (PolicyError, VoiceRenderError) as exc:
        raise AnsibleFilterError(f"voice edge: {exc}") from None


class FilterModule:
    def filters(self):
        return {"voice_edge_files": _files}
