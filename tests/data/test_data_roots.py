"""Data-root, dataset-folder and cache resolution."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sotbench.data import roots
from sotbench.data.roots import DataPathNotFound, DatasetNotFound, cache_dir, data_root, dataset_dir


def test_explicit_beats_env_and_defaults(isolated_env, tmp_path, monkeypatch, caplog):
    explicit, env = tmp_path / "explicit", tmp_path / "env"
    explicit.mkdir()
    env.mkdir()
    (isolated_env / "data").mkdir()
    monkeypatch.setenv("SOTBENCH_DATA_ROOT", str(env))
    with caplog.at_level(logging.INFO, logger="sotbench.data"):
        assert data_root(explicit) == explicit.resolve()
    assert "data_root setting" in caplog.text
    assert data_root() == env.resolve()
    monkeypatch.delenv("SOTBENCH_DATA_ROOT")
    assert data_root() == (isolated_env / "data").resolve()


def test_shared_datasets_fallback(isolated_env, tmp_path, monkeypatch):
    # cwd = <tmp>/cwd, so ../shared/datasets = <tmp>/shared/datasets
    shared = tmp_path / "shared" / "datasets"
    shared.mkdir(parents=True)
    assert data_root() == shared.resolve()


def test_missing_roots_are_errors(isolated_env, tmp_path, monkeypatch):
    monkeypatch.setattr(roots, "_project_root", lambda: tmp_path / "nowhere" / "proj")
    with pytest.raises(DatasetNotFound, match="no data root found"):
        data_root()
    with pytest.raises(DataPathNotFound, match="data_root setting"):
        data_root(tmp_path / "missing")
    monkeypatch.setenv("SOTBENCH_DATA_ROOT", str(tmp_path / "missing-env"))
    with pytest.raises(DataPathNotFound, match="SOTBENCH_DATA_ROOT"):
        data_root()
    assert issubclass(DatasetNotFound, ValueError)


def test_dataset_dir_usual_names_and_overrides(isolated_env, tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "Bach10").mkdir(parents=True)
    assert dataset_dir("bach10", root) == root.resolve() / "Bach10"
    (root / "Bach10_v1.1").mkdir()
    assert dataset_dir("Bach10", root) == root.resolve() / "Bach10_v1.1"  # preferred name
    # the dataset folder itself is accepted as root
    assert dataset_dir("bach10", root / "Bach10_v1.1") == root / "Bach10_v1.1"
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert dataset_dir("bach10", root, override=other) == other
    monkeypatch.setenv("SOTBENCH_URMP_DIR", str(other))
    assert dataset_dir("urmp", root) == other


def test_dataset_dir_errors_name_expected_path_and_files(isolated_env, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(DatasetNotFound) as err:
        dataset_dir("guitarset", root)
    msg = str(err.value)
    assert str(root.resolve() / "GuitarSet") in msg and "annotation" in msg and "audio_mono-mic" in msg
    with pytest.raises(DataPathNotFound, match="does not exist"):
        dataset_dir("su", root, override=tmp_path / "nope")
    with pytest.raises(ValueError, match="did you mean 'bach10'"):
        dataset_dir("bach1O", root)


def test_cache_dir(isolated_env, tmp_path, monkeypatch):
    monkeypatch.setenv("SOTBENCH_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()
    monkeypatch.delenv("SOTBENCH_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == Path(tmp_path / "home" / ".cache" / "sotbench")


def test_atomic_write_leaves_no_temp(tmp_path):
    p = roots.atomic_write_text(tmp_path / "a" / "b.txt", "hello")
    assert p.read_text() == "hello"
    assert sorted(x.name for x in p.parent.iterdir()) == ["b.txt"]
