"""Python API: evaluate -> tidy table, load_results, register_model, the SalienceModel validator, rescore."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import sotbench
from sotbench.types import MultiPitchTrack, Salience

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from stft_salience import StftSalience  # noqa: E402


# ----------------------------------------------------------------------------- validator
class _Broken(StftSalience):
    def __init__(self, how: str):
        super().__init__()
        self.how = how

    def salience(self, audio, sample_rate, *, progress=False):
        s = super().salience(audio, sample_rate)
        values, freqs, times = s.values, s.frequencies_hz, s.times_s
        if self.how == "transposed":
            return type("S", (), {"values": values.T, "frequencies_hz": freqs, "times_s": times})()
        if self.how == "samples":
            times = times * sample_rate
        if self.how == "shifted":
            times = times + 0.3
        if self.how == "midi":
            freqs = 69 + 12 * np.log2(freqs / 440.0)
        if self.how == "late":  # frames labelled 0.3 s too early (axes in range, content late)
            values = np.roll(values, int(round(0.3 / (times[1] - times[0]))), axis=1)
        if self.how == "reversed":
            values = values[::-1].copy()
        if self.how == "scale":
            values = values * 3
        return Salience(values, freqs, times)


def test_validator_accepts_the_example_model():
    report = sotbench.validate_model(StftSalience())
    assert abs(report["peak_error_semitones"]) < 0.5 and abs(report["onset_error_s"]) < 0.1
    assert report["n_frames"] > 100 and report["hop_s"] == pytest.approx(256 / 22050)


@pytest.mark.parametrize("how, message", [
    ("transposed", "transposed"),
    ("samples", "times"),
    ("shifted", "first frame centre"),
    ("midi", "peaks at"),
    ("late", "shows up at"),
    ("reversed", "peaks at"),
    ("scale", r"\[0, 1\]"),
])
def test_validator_rejects_wrong_axes(how, message):
    with pytest.raises(ValueError, match=message):
        sotbench.validate_model(_Broken(how))


def test_validator_rejects_non_models():
    with pytest.raises(ValueError, match="salience"):
        sotbench.validate_model(object())


# ----------------------------------------------------------------------------- evaluate / load_results
class _ToyTracks:
    """Two 1.5 s harmonic tones with their reference (a stand-in dataset)."""

    names = ["a440", "c262"]
    root = None

    def __len__(self):
        return 2

    def __getitem__(self, i):
        sr, f0 = 22050, (440.0, 261.63)[i]
        t = np.arange(int(1.5 * sr)) / sr
        audio = (0.5 * np.sin(2 * np.pi * f0 * t) + 0.2 * np.sin(4 * np.pi * f0 * t)).astype(np.float32)
        ref_times = np.arange(0, 1.5, 0.01)
        return MultiPitchTrack(self.names[i], audio, sr, ref_times, [np.array([f0])] * ref_times.size)


@pytest.fixture
def toy_setup(monkeypatch):
    from sotbench import data
    from sotbench.registry import MODELS

    monkeypatch.setitem(data.EVAL_DATASETS, "toy-tones", lambda root=None, **kw: _ToyTracks())
    if "example-stft" not in MODELS:
        sotbench.register_model("example-stft", StftSalience, task="mpe", validate=True,
                                description="examples/stft_salience.py")


def test_evaluate_returns_a_tidy_table_and_load_results_reads_it_back(toy_setup, tmp_path):
    frame = sotbench.evaluate(task="mpe", model="example-stft", datasets=["toy-tones"], results_root=tmp_path,
                              budget="smoke", seed=0)
    acc = frame[(frame.metric == "acc") & (frame.dataset == "toy-tones")]
    # the tone's 2nd partial is picked as a second pitch: R = 100 %, P = 50 %, Acc = 50 %
    assert len(acc) == 1 and acc.value.iloc[0] >= 45 and acc.model.iloc[0] == "example-stft"
    loaded = sotbench.load_results(tmp_path)
    back = loaded[(loaded.metric == "acc") & (loaded.dataset == "toy-tones")]
    assert back.value.iloc[0] == acc.value.iloc[0] and back.budget.iloc[0] == "smoke"
    items = sotbench.load_results(tmp_path, per_item=True)
    per_track = items[(items.metric == "acc")].set_index("item").value
    assert set(per_track.index) == {"a440", "c262"} and per_track.mean() == pytest.approx(acc.value.iloc[0])
    # the same call again reuses the completed run
    again = sotbench.evaluate(task="mpe", model="example-stft", datasets=["toy-tones"], results_root=tmp_path,
                              budget="smoke", seed=0)
    assert again.value.tolist() == frame.value.tolist()
    # the leaderboard renders from the same files
    written = sotbench.render_report(tmp_path, tmp_path / "reports", plots=False)
    assert "example-stft" in (tmp_path / "reports" / "leaderboard.md").read_text() and len(written) == 4
    # the task kept each track's estimate: re-scoring reproduces the stored metrics exactly
    rows = sotbench.rescore(tmp_path)
    assert [r["dataset"] for r in rows] == ["toy-tones"] and rows[0]["exact"] is True
    assert rows[0]["rescored"]["acc"] == acc.value.iloc[0]


def test_load_results_of_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        sotbench.load_results(tmp_path / "nope")


def test_register_model_refuses_a_taken_name():
    with pytest.raises(ValueError, match="twice"):
        sotbench.register_model("ssmpe", StftSalience, task="mpe")


# ----------------------------------------------------------------------------- README examples
ROOT = Path(__file__).resolve().parents[1]


def _readme_python_blocks() -> list[str]:
    import re

    text = (ROOT / "README.md").read_text()
    section = text.split("## Python API and your own model", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_load_results_example_runs(tmp_path, monkeypatch):
    from tests.report.test_leaderboard import write_fixture_results

    write_fixture_results(tmp_path / "results")
    monkeypatch.chdir(tmp_path)
    blocks = _readme_python_blocks()
    assert len(blocks) == 2 and "load_results" in blocks[0] and "register_model" in blocks[1]
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102 - the documented example
    assert set(namespace["frame"].query("metric == 'acc'").model) >= {"hcqt-h1", "basic-pitch"}


def test_readme_model_example_matches_the_example_script():
    block = _readme_python_blocks()[1]
    source = (ROOT / "examples" / "stft_salience.py").read_text()
    for line in ("sotbench.validate_model(StftSalience())", 'datasets=["chorales-synth"], max_tracks=2'):
        assert line in block and line in source


@pytest.mark.slow
def test_example_script_runs(tmp_path):
    import subprocess

    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "stft_salience.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "example-stft" in proc.stdout and "acc" in proc.stdout
