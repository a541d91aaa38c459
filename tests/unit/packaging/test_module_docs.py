"""Every module documents itself: ansible-doc parses its DOCUMENTATION/EXAMPLES/RETURN (fragments included), and the
documented options are the options its argument_spec accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))


def test_ansible_doc_renders_every_module():
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    result = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "--json", "-t", "module",
                             *(f"aiphone.hardening.{name}" for name in MODULES)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    docs = json.loads(result.stdout)
    missing = [name for name in MODULES if not docs.get(f"aiphone.hardening.{name}", {}).get("doc")]
    assert not missing, f"no parsable DOCUMENTATION: {missing}\n{result.stderr}"
    for name in MODULES:
        entry = docs[f"aiphone.hardening.{name}"]
        assert entry["doc"].get("short_description"), name
        assert entry.get("examples"), f"{name} has no EXAMPLES"
