"""Take collections out of the pinned `ansible` wheel into a collections path (the EE has no Galaxy to ask).

    python scripts/ee/collections_from_wheel.py WHEEL TARGET ansible.posix cisco.ios ...

The `ansible` package on PyPI is the Ansible community bundle: its wheel holds `ansible_collections/<ns>/<name>/`
with each collection's MANIFEST.json, at the versions tested with this repository (requirements.txt pins it).
Only the named collections are extracted (the whole bundle is ~590 MB installed); a name the wheel lacks is an error.
"""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path, PurePosixPath


def extract(wheel: Path, target: Path, names: list[str]) -> dict[str, str]:
    """{name: version} of the collections written under target/ansible_collections/."""
    wanted = {tuple(name.split(".", 1)): name for name in names}
    found: dict[str, str] = {}
    if (target / "ansible_collections").exists():
        shutil.rmtree(target / "ansible_collections")
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            parts = PurePosixPath(member.filename).parts
            if len(parts) < 4 or parts[0] != "ansible_collections" or tuple(parts[1:3]) not in wanted:
                continue
            if member.is_dir() or ".." in parts:
                continue
            destination = target.joinpath(*parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, destination.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            if parts[3] == "MANIFEST.json" and len(parts) == 4:
                info = json.loads(destination.read_text())["collection_info"]
                found[wanted[tuple(parts[1:3])]] = info["version"]
    missing = sorted(set(names) - set(found))
    if missing:
        raise SystemExit(f"{wheel.name} holds no collection {', '.join(missing)}")
    return found


def main() -> int:
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    found = extract(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
    for name, version in sorted(found.items()):
        print(f"{name} {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
