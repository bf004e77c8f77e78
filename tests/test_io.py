"""sotbench.io: atomic writes keep old files on failure, usual permissions, weights-only loads."""

import json
import os
import stat

import pytest
import torch

from sotbench import io


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "result.json"
    io.atomic_write_json(path, {"status": "completed"})

    def write_half_then_die(handle):
        handle.write(b'{"status": "runn')
        raise KeyboardInterrupt  # a kill in the middle of the write

    with pytest.raises(KeyboardInterrupt):
        io.atomic_write(path, write_half_then_die)
    assert json.loads(path.read_text()) == {"status": "completed"}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_written_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = io.atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_json_rejects_nan(tmp_path):
    with pytest.raises(ValueError):
        io.atomic_write_json(tmp_path / "a.json", {"x": float("nan")})


class _Planted:
    """An object whose unpickling would run code (writes a marker file)."""

    marker = None

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_planted_pickle_runs_no_code(tmp_path):
    marker = tmp_path / "pwned"
    _Planted.marker = marker
    path = tmp_path / "checkpoint.pt"
    torch.save({"state": _Planted()}, path)
    with pytest.raises(ValueError, match="weights only"):
        io.safe_torch_load(path)
    assert not marker.exists()


def test_state_dicts_round_trip(tmp_path):
    state = {"w": torch.arange(3.0), "meta": {"steps": 3, "name": "x"}}
    path = io.atomic_torch_save(tmp_path / "c.pt", state)
    loaded = io.safe_torch_load(path)
    assert torch.equal(loaded["w"], state["w"]) and loaded["meta"] == state["meta"]


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(io.CACHE_ENV, str(tmp_path / "cache"))
    assert io.cache_dir() == tmp_path / "cache" and (tmp_path / "cache").is_dir()
