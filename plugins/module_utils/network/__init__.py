# -*- coding: utf-8 -*-
"""Pure network logic: policy -> device config renderers, running-config parsers, the config diff,
the injection guard and the ACL/VLAN policy verifier. Nothing here opens a connection."""
