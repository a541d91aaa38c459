"""The shipped retention sweep, run for real on a temporary directory tree (no mocks)."""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles/data_retention/files/aiphone-retention.py"
DAY = 86400


@pytest.fixture(scope="module")
def sweep():
    spec = importlib.util.spec_from_file_location("aiphone_retention", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make(path: Path, age_days: float, content: bytes = b"x" * 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    stamp = time.time() - age_days * DAY
    os.utime(path, (stamp, stamp))
    return path


def write_config(tmp_path: Path, classes: dict[str, int], **extra) -> Path:
    config = {"classes": [{"name": name, "path": str(tmp_path / "data" / name), "max_age_seconds": days * DAY}
                          for name, days in classes.items()], **extra}
    path = tmp_path / "retention.json"
    path.write_text(json.dumps(config))
    return path


def reports(capsys) -> dict[str, dict]:
    lines = [line.split(" ", 1)[1] for line in capsys.readouterr().out.splitlines()]
    return {entry["class"]: entry for entry in map(json.loads, lines)}


def test_deletes_exactly_the_expired_files_and_never_follows_symlinks(sweep, tmp_path, capsys):
    data = tmp_path / "data"
    old = make(data / "recordings/2026/old.wav", 100)
    fresh = make(data / "recordings/2026/fresh.wav", 10)
    outside = make(tmp_path / "outside/secret.txt", 400, b"keep me")
    (data / "recordings/link-out").symlink_to(outside)
    os.utime(data / "recordings/link-out", (0, 0), follow_symlinks=False)
    (data / "recordings/dir-link").symlink_to(outside.parent, target_is_directory=True)
    old_meta = make(data / "metadata/m.json", 200)
    config = write_config(tmp_path, {"recordings": 90, "metadata": 365})

    assert sweep.main(["--config", str(config)]) == 0

    assert not old.exists()
    assert fresh.exists() and old_meta.exists()
    assert outside.read_bytes() == b"keep me"
    assert (data / "recordings/link-out").is_symlink()
    result = reports(capsys)
    assert result["recordings"]["deleted"] == 1 and result["recordings"]["bytes"] == 100
    assert sorted(result["recordings"]["symlinks_skipped"]) == sorted(
        [str(data / "recordings/link-out"), str(data / "recordings/dir-link")])
    assert result["recordings"]["oldest_kept"] is not None
    assert result["metadata"]["deleted"] == 0


def test_dry_run_deletes_nothing(sweep, tmp_path, capsys):
    old = make(tmp_path / "data/transcripts/t.txt", 120)
    config = write_config(tmp_path, {"transcripts": 90})
    assert sweep.main(["--config", str(config), "--dry-run"]) == 0
    assert old.exists()
    result = reports(capsys)["transcripts"]
    assert result["dry_run"] is True and result["deleted"] == 1 and result["methods"] == {"would delete": 1}


def test_hard_linked_file_is_unlinked_but_not_overwritten(sweep, tmp_path, capsys):
    old = make(tmp_path / "data/recordings/a.wav", 100, b"audio")
    twin = tmp_path / "elsewhere.wav"
    os.link(old, twin)
    config = write_config(tmp_path, {"recordings": 90}, overwrite=True)
    assert sweep.main(["--config", str(config)]) == 0
    assert not old.exists()
    assert twin.read_bytes() == b"audio"       # overwriting would have destroyed data outside the directory
    assert reports(capsys)["recordings"]["hardlinked_not_overwritten"]


def test_overwrite_reported_per_filesystem(sweep, tmp_path, capsys):
    make(tmp_path / "data/recordings/a.wav", 100)
    config = write_config(tmp_path, {"recordings": 90}, overwrite=True)
    sweep.main(["--config", str(config)])
    result = reports(capsys)["recordings"]
    fstype = sweep.mount_fstype(str(tmp_path))
    if fstype in sweep.NO_OVERWRITE_FS:
        assert result["overwrite"].startswith(f"not effective on {fstype}") and result["methods"] == {"unlinked": 1}
    else:
        assert result["overwrite"] == "on" and result["methods"] == {"overwritten": 1}


def test_a_symlinked_data_directory_is_refused(sweep, tmp_path, capsys):
    make(tmp_path / "real/old.wav", 100)
    (tmp_path / "data").mkdir()
    (tmp_path / "data/recordings").symlink_to(tmp_path / "real", target_is_directory=True)
    config = write_config(tmp_path, {"recordings": 90})
    assert sweep.main(["--config", str(config)]) == 1
    assert (tmp_path / "real/old.wav").exists()
    assert reports(capsys)["recordings"]["errors"]


def test_config_with_less_than_a_day_is_refused(sweep, tmp_path, capsys):
    config = tmp_path / "retention.json"
    config.write_text(json.dumps({"classes": [{"name": "x", "path": str(tmp_path), "max_age_seconds": 60}]}))
    assert sweep.main(["--config", str(config)]) == 2
    assert "one day" in capsys.readouterr().out
