"""SS-MPE network, model files and the chunked SalienceModel wrapper."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from sotbench.models import ssmpe as mod
from sotbench.models.base import ModelUnavailable, SalienceModel
from sotbench.models.ssmpe import (
    SSMPE,
    SSMPENet,
    build_ssmpe,
    count_parameters,
    load_ssmpe_checkpoint,
    save_ssmpe_checkpoint,
)
from sotbench.registry import MODELS

SR = 22050


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_parameter_count_is_the_papers():
    assert count_parameters(SSMPENet()) == 545_189


def test_architecture_sizes():
    net = SSMPENet()
    sizes = [b.norm.norm.normalized_shape for b in net.encoder]
    assert sizes == [(8, 219), (16, 108), (32, 53), (64, 25)]
    assert net.to_latent.out_channels == 128 and net.to_latent.kernel_size == (25, 1)
    assert [b.norm.norm.normalized_shape for b in net.decoder] == [(32, 53), (16, 108), (8, 219), (4, 440)]
    assert net.conv_in.in_channels == 6 and net.conv_out.out_channels == 1


@pytest.mark.parametrize("T", [1, 7, 64])
def test_output_shape(T):
    torch.manual_seed(0)
    out = SSMPENet()(torch.rand(2, 6, 440, T))
    assert out.shape == (2, 440, T) and torch.isfinite(out).all()


def test_bad_input_shape():
    with pytest.raises(ValueError, match=r"\(B, 6, 440, T\)"):
        SSMPENet()(torch.rand(2, 440, 10))
    with pytest.raises(ValueError, match=r"\(B, 6, 440, T\)"):
        SSMPENet()(torch.rand(1, 5, 440, 10))


def test_time_receptive_field_is_time_radius():
    torch.manual_seed(1)
    net = SSMPENet().eval()
    x = torch.rand(1, 6, 440, 150)
    y = x.clone()
    y[..., 70] += 0.5                                 # perturb one frame
    with torch.no_grad():
        d = (net(x) - net(y)).abs().amax(dim=1)[0]
    r = SSMPENet.time_radius
    assert r == 50
    assert float(d[70 + r + 1:].max()) == 0.0 and float(d[:70 - r].max()) == 0.0
    assert float(d[70 + r]) > 0.0 and float(d[70 - r]) > 0.0   # the field really reaches that far


def test_frames_are_independent_in_batch_and_layer_norm():
    torch.manual_seed(2)
    net = SSMPENet().eval()
    x = torch.rand(3, 6, 440, 6)
    with torch.no_grad():
        together = net(x)
        apart = torch.cat([net(x[i:i + 1]) for i in range(3)])
    assert torch.allclose(together, apart, atol=1e-5)


# --------------------------------------------------------------------- model files

@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(3)
    net = SSMPENet()
    path = tmp_path_factory.mktemp("ckpt") / "ssmpe-test.pt"
    save_ssmpe_checkpoint(path, net, meta={"objective": "full", "steps": 0, "torch": torch.__version__})
    return path, net


def test_model_file_roundtrip(model_file):
    path, net = model_file
    loaded, payload = load_ssmpe_checkpoint(path)
    x = torch.rand(1, 6, 440, 9)
    with torch.no_grad():
        assert torch.equal(loaded(x), net.eval()(x))
    assert payload["meta"]["objective"] == "full"
    assert isinstance(payload["meta"]["torch"], str)               # plain JSON values only
    assert payload["hcqt"]["n_bins"] == 440 and payload["hcqt"]["harmonics"][1] == 1.0


def test_model_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train=true"):
        load_ssmpe_checkpoint(tmp_path / "missing.pt")
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="not an SS-MPE model file"):
        load_ssmpe_checkpoint(tmp_path / "foreign.pt")
    (tmp_path / "corrupt.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="cannot read"):
        load_ssmpe_checkpoint(tmp_path / "corrupt.pt")


def test_missing_shipped_checkpoint_names_the_training_command(tmp_path, monkeypatch):
    monkeypatch.setattr(mod, "CHECKPOINT_DIR", tmp_path)
    with pytest.raises(ModelUnavailable, match="sotbench run task=mpe model=ssmpe train=true"):
        build_ssmpe()
    with pytest.raises(ModelUnavailable, match="model=ssmpe-energy train=true"):
        MODELS.get("ssmpe-energy")()


def test_registry_entries():
    names = {"ssmpe": "full", "ssmpe-energy": "energy", "ssmpe-energy-timbre": "energy+timbre",
             "ssmpe-energy-geometric": "energy+geometric"}
    for name, objective in names.items():
        entry = MODELS.entry(name)
        assert entry.meta["task"] == "mpe" and entry.meta["trainable"] is True
        assert entry.meta["objective"] == objective


def test_shipped_checkpoint_if_present():
    path = mod.CHECKPOINT_DIR / "ssmpe-full-cpu.pt"
    if not path.is_file():
        pytest.skip("no shipped checkpoint yet")
    net, payload = load_ssmpe_checkpoint(path)
    assert count_parameters(net) == 545_189
    meta = payload["meta"]
    for key in ("objective", "steps", "seed", "data", "commit", "budget"):
        assert key in meta
    assert meta["objective"] == "full"


# --------------------------------------------------------------------- salience wrapper

def tones(seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    x = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 330 * t * (1 + 0.003 * np.sin(3 * t)))
    x[t > seconds / 2] += 0.2 * np.sin(2 * np.pi * 523.25 * t[t > seconds / 2])
    return (x + 0.003 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def model(model_file):
    return build_ssmpe(checkpoint=model_file[0], device="cpu")


def test_salience_model_protocol_and_axes(model):
    assert isinstance(model, SalienceModel)
    assert model.threshold == 0.5 and model.name == "ssmpe"
    x = tones(2.0)
    sal = model.salience(x, SR)
    n = 1 + x.size // 256
    assert sal.values.shape == (440, n)
    assert float(sal.values.min()) >= 0 and float(sal.values.max()) <= 1
    np.testing.assert_allclose(sal.times_s, np.arange(n) * 256 / SR)
    np.testing.assert_allclose(sal.frequencies_hz, 27.5 * 2 ** (np.arange(440) / 60), rtol=1e-9)


def test_chunked_inference_equals_whole_track(model, model_file):
    x = tones(2.6, seed=1)
    with torch.no_grad():
        ref = model.net(model.hcqt(torch.from_numpy(x)[None]))[0]
    for chunk_seconds, cache_mb in [(0.6, 512.0), (1.1, 0.01)]:    # kept power / two HCQT passes
        m = build_ssmpe(checkpoint=model_file[0], device="cpu", chunk_seconds=chunk_seconds,
                        max_feature_cache_mb=cache_mb)
        got = m.logits(x, SR)
        assert got.shape == ref.shape
        assert float((got - ref).abs().max()) < 1e-4


def test_progress_bar_and_resampling(model):
    x = tones(1.0)
    x44 = np.interp(np.arange(2 * x.size) / 2, np.arange(x.size), x).astype(np.float32)
    sal = model.salience(x44, 44100, progress=True)
    assert sal.values.shape[1] == 1 + x.size // 256


def test_bad_audio(model):
    with pytest.raises(ValueError, match="mono"):
        model.salience(np.zeros((2, 1000), np.float32), SR)
    bad = tones(0.5)
    bad[10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.salience(bad, SR)
    with pytest.raises(ValueError, match="no samples"):
        model.salience(np.zeros(0, np.float32), SR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sal = model.salience(np.zeros(3000, np.float32), SR)    # silence: finite, warned
    assert np.isfinite(sal.values).all()


def test_bad_settings(model_file):
    with pytest.raises(ValueError, match="threshold"):
        build_ssmpe(checkpoint=model_file[0], threshold=1.5)
    with pytest.raises(ValueError, match="chunk_seconds"):
        build_ssmpe(checkpoint=model_file[0], chunk_seconds=0)
    with pytest.raises(ValueError, match="num_threads"):
        SSMPE(SSMPENet(), build_ssmpe(checkpoint=model_file[0]).hcqt, num_threads=0)


# --------------------------------------------------------------------- model cards of the shipped checkpoints

def _cards():
    """(checkpoint, card) pairs: ``MODEL_CARD.md`` describes ``ssmpe-full-cpu.pt``, ``<stem>.md`` the others."""
    pairs = []
    for pt in sorted(mod.CHECKPOINT_DIR.glob("*.pt")):
        card = mod.CHECKPOINT_DIR / ("MODEL_CARD.md" if pt.name == "ssmpe-full-cpu.pt" else f"{pt.stem}.md")
        pairs.append((pt, card))
    return pairs


def _model_name(pt):
    stem = pt.stem.removesuffix("-cpu")
    return "ssmpe" if stem == "ssmpe-full" else stem


def _eval_command(card_text, model):
    import re

    cmds = re.findall(r"^\s*(?:[A-Z_]+=\S+ )*(sotbench run task=mpe model=\S+(?: [^\n`]*)?)$", card_text,
                      flags=re.M)   # a line of a code block, optionally after environment variables
    evals = [c.strip() for c in cmds if f"model={model} " in c + " " and "train=true" not in c]
    assert evals, f"no evaluation command for {model} in the card"
    return evals[0]


@pytest.mark.parametrize("pt,card", _cards(), ids=lambda x: x.name)
def test_every_shipped_checkpoint_has_a_card_naming_its_file_and_commands(pt, card):
    import hashlib

    assert card.is_file(), f"{pt.name} has no model card ({card.name})"
    text = card.read_text()
    assert hashlib.sha256(pt.read_bytes()).hexdigest() in text, "the card's sha256 is not the file's"
    assert f"{pt.stat().st_size:,}" in text
    model = _model_name(pt)
    meta = load_ssmpe_checkpoint(pt)[1]["meta"]
    assert meta["objective"] == MODELS.entry(model).meta["objective"]
    assert _eval_command(text, model).split()[:4] == ["sotbench", "run", "task=mpe", f"model={model}"]
    assert f"sotbench run task=mpe model={model} train=true budget=cpu" in text


@pytest.mark.slow
@pytest.mark.parametrize("pt,card", _cards(), ids=lambda x: x.name)
def test_card_command_reproduces_the_committed_scores_at_smoke_size(pt, card, tmp_path):
    # the card's evaluation command at budget=smoke (first 2 tracks of each dataset) must give
    # exactly the per-track scores committed for the same tracks at full size
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    model = _model_name(pt)
    repo = Path(__file__).resolve().parents[2]
    committed = {}
    for path in (repo / "results" / "mpe" / model / "-").rglob("result.json"):
        record = json.loads(path.read_text())
        if record.get("status") == "completed" and record.get("budget") == "cpu":
            committed.update(record["per_item"])
    if not committed:
        pytest.skip(f"no committed result for {model}")
    args = _eval_command(card.read_text(), model).split()[1:]
    args = [a for a in args if not a.startswith("budget=")] + [
        "budget=smoke", f"results_root={tmp_path}", "progress=false"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "sotbench.cli", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    fresh = {}
    for path in tmp_path.rglob("result.json"):
        fresh.update(json.loads(path.read_text())["per_item"])
    shared = sorted(set(fresh) & set(committed))
    assert shared, (sorted(fresh), sorted(committed)[:4])
    for key in shared:
        for metric in ("p", "r", "acc", "f1", "n_ref", "n_est"):
            assert fresh[key][metric] == pytest.approx(committed[key][metric], rel=1e-9, abs=1e-9), (key, metric)


@pytest.mark.slow
def test_card_training_command_runs_at_smoke_size(tmp_path):
    # the training command of a card (train=true), at budget=smoke: trains, writes the model file and
    # curves.json into the run folder, then evaluates
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    pt, card = next((p, c) for p, c in _cards() if p.name in ("ssmpe-energy-cpu.pt", "ssmpe-full-cpu.pt"))
    model = _model_name(pt)
    command = f"sotbench run task=mpe model={model} train=true budget=cpu"
    assert command in card.read_text()
    args = command.split()[1:-1] + ["budget=smoke", f"results_root={tmp_path}", "progress=false",
                                    "task.eval=[chorales-synth]"]
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "sotbench.cli", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    model_files = list(tmp_path.rglob("ssmpe-*.pt"))
    assert len(model_files) == 1
    curves = json.loads((model_files[0].parent / "curves.json").read_text())
    assert curves["format"] == "sotbench-curves/1" and curves["series"]["valid/total"]["x"] == [3]
