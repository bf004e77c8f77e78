"""End-to-end throughput: training steps per second and inference cost per audio second.

Training
--------
``HarmonicAETraining``: one optimisation step of ``harmonic-ae`` (paper 000)
as the ``synth-ae`` task runs it -- CQT features precomputed once (the CQT
has no trainable parameters), then model forward on 64 x 4096 samples, the
registered loss, backward, Adam step (lr 1e-4, weight decay 1e-4).

``SSMPETraining``: one step of SS-MPE (paper 002) -- HCQT of a batch of
4-s excerpts at 22,050 Hz, network forward, the SS-MPE objectives, backward,
AdamW step.  The paper's batch of 20 excerpts is run on the GPU only; the
CPU runs a batch of 1 (a larger batch is too slow for a CPU; see ``docs/performance.md``).

``track_steps_per_second`` (unit "steps/s") is *higher-is-better*; asv marks
any increase of a value as a regression, so regressions of these show up in
``asv continuous`` through ``time_training_step`` (seconds per step).

Inference
---------
``MPEInference``: ``salience(audio, 44100)`` of every registered MPE model on a
deterministic four-voice clip (4 s; CREPE full: 1 s), in seconds of compute
per audio second (resampling, transform, network and peak-ready salience
included).  Peers that are not installed skip; peers compute with their
salience cache off.

``MPEInferenceScaling``: SS-MPE and the ``hcqt-h1`` baseline against the clip
length (2, 8, 30 s).  30 s is about a Bach10 track (334 s / 10 tracks), so
``10 x time(30 s) x 334 / 300`` estimates evaluating all of Bach10.

``Bach10Inference`` (opt-in: ``SOTBENCH_BENCH_BACH10=1`` and the dataset under
the data root) times the real thing: all ten Bach10 mixes, in seconds.

When no trained SS-MPE checkpoint is installed, SS-MPE is built with random
weights (same architecture, same HCQT): its speed does not depend on the
weights.
"""
from __future__ import annotations

import os

import torch
from asv_runner.benchmarks.mark import skip_for_params

from ._util import (
    DEVICES,
    harmonic_batch,
    loss_factory,
    measure,
    mpe_model,
    on_device,
    peak_cuda_mib,
    polyphonic_audio,
    require_attr,
    require_device,
    sync,
    with_unit,
)

#: Registered loss configurations (Table 1 of paper 000).
LOSS_NAMES = ["sot-2048", "sot-512", "sot-512-ls", "sot-singlescale", "sot-nocut",
              "mss-lin", "mss-loglin"]
#: Registered MPE models (kept static: asv indexes results by parameter position).
#: The SS-MPE ablations (ssmpe-energy, -energy-timbre, -energy-geometric) are left
#: out: same network and HCQT as ssmpe, only the weights differ, so the same cost.
MPE_MODELS = ["ssmpe", "hcqt-h1", "hcqt-h1-log", "hcqt-harmonic-sum", "hcqt-harmonic-sum-log",
              "basic-pitch", "basic-pitch-notes", "crepe", "crepe-tiny", "pesto"]
#: Clip length per model (s) in MPEInference; CREPE full is the slowest peer (docs/performance.md).
CLIP_S = {"crepe": 1.0}
DEFAULT_CLIP_S = 4.0
AUDIO_SAMPLE_RATE = 44100  # Bach10's rate: the models resample as in a real evaluation
SCALING_SECONDS = [2, 8, 30]
BACH10_AUDIO_S = 334.0


# ---------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------

def harmonic_ae_step(model, loss, optimizer, audio: torch.Tensor, features: torch.Tensor) -> None:
    """One synth-ae training step as the task runs it: forward with precomputed CQT, loss, backward, update."""
    out = model(audio, features=features)
    value = loss(out.audio, audio)
    optimizer.zero_grad(set_to_none=True)
    value.backward()
    optimizer.step()


class HarmonicAETraining:
    """Training steps per second of ``harmonic-ae`` with each registered loss."""

    params = [DEVICES, LOSS_NAMES]
    param_names = ["device", "loss"]
    rounds = 1
    repeat = (1, 5, 10.0)
    number = 1
    warmup_time = 0.0
    timeout = 300

    def setup(self, device, loss):
        self.device = require_device(device)
        make_loss = loss_factory(loss)
        from sotbench.registry import MODELS

        if "harmonic-ae" not in MODELS:
            raise NotImplementedError("model 'harmonic-ae' is not registered (yet)")
        torch.manual_seed(0)
        self.model = MODELS.get("harmonic-ae")().to(self.device).train()
        self.loss = make_loss().to(self.device)
        self.audio = harmonic_batch(64, 4096, 16000, seed=3).to(self.device)
        with torch.no_grad():
            self.features = self.model.features(self.audio)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-4, weight_decay=1e-4)
        self._step(self.audio[:2], self.features[:2])  # warm-up (numba, allocator)

    def _step(self, x=None, feats=None):
        x = self.audio if x is None else x
        feats = self.features if feats is None else feats
        harmonic_ae_step(self.model, self.loss, self.optimizer, x, feats)
        sync(self.device)

    def time_training_step(self, device, loss):
        self._step()

    @with_unit("steps/s")
    def track_steps_per_second(self, device, loss):
        """Optimisation steps per second at batch 64 x 4096 (higher is better)."""
        return 1.0 / measure(self._step, self.device)

    @on_device("cuda", params)
    @with_unit("MiB")
    def track_peak_gpu_mib(self, device, loss):
        """Peak CUDA memory of one training step."""
        return peak_cuda_mib(self._step, self.device)


class HarmonicAEStepImplementations:
    """``harmonic-ae`` training steps per second, former vs current encoder evaluation, side by side.

    One synth-ae training step (CQT features precomputed, model forward, the
    ``sot-2048`` loss, backward, Adam) at batch 16 (the ``cpu`` budgets) and 64
    (the paper's), with the encoder evaluated ``direct`` (``nn.Conv1d`` layers
    over the whole batch: the former implementation, kept as the
    ``conv_impl="direct"`` setting) or ``fft`` (the default: the trunk in
    cache-sized blocks of frames, residual convolution by FFT; see
    :meth:`sotbench.models.harmonic_ae.PitchEncoder._features_fft`), with one
    or two intra-op threads.  Same parameters and values, tested in
    ``tests/models/test_harmonic_ae.py``.  The speed-up of a run is the ratio
    of two ``track_steps_per_second`` values at the same batch and threads;
    ``track_steps_per_cpu_second`` (one thread) is the load-robust version.
    """

    params = [["direct", "fft"], [16, 64], [1, 2]]
    param_names = ["conv_impl", "batch", "threads"]
    rounds = 1
    repeat = (1, 5, 20.0)
    number = 1
    warmup_time = 0.0
    timeout = 600

    def setup(self, conv_impl, batch, threads):
        from sotbench.registry import LOSSES, MODELS

        self._threads = torch.get_num_threads()
        if threads > (os.cpu_count() or 1):
            raise NotImplementedError(f"{threads} threads on {os.cpu_count()} cores")
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        self.model = MODELS.get("harmonic-ae")(conv_impl=conv_impl).train()
        self.loss = LOSSES.get("sot-2048")()
        self.audio = harmonic_batch(batch, 4096, 16000, seed=3)
        with torch.no_grad():
            self.features = self.model.features(self.audio)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-4, weight_decay=1e-4)
        self._step()  # warm-up

    def teardown(self, conv_impl, batch, threads):
        torch.set_num_threads(self._threads)

    def _step(self):
        harmonic_ae_step(self.model, self.loss, self.optimizer, self.audio, self.features)

    @with_unit("steps/s")
    def track_steps_per_second(self, conv_impl, batch, threads):
        """Training steps per second of wall time (higher is better)."""
        return 1.0 / measure(self._step, "cpu")

    @skip_for_params([(impl, batch, 2) for impl in ("direct", "fft") for batch in (16, 64)])
    @with_unit("steps/s")
    def track_steps_per_cpu_second(self, conv_impl, batch, threads):
        """Training steps per second of this process's CPU time, one thread (higher is better).

        On a shared machine wall time includes the time other processes hold
        the core; the process CPU time of a one-thread step does not, so the
        ratio between implementations is stable under load.  (With two
        threads CPU time adds both threads' time: not a speed; skipped.)
        """
        import time

        n = 8 if batch <= 16 else 3
        t0 = time.process_time()
        for _ in range(n):
            self._step()
        return n / (time.process_time() - t0)


class HarmonicAEValidation:
    """Cost of one validation pass of synth-ae relative to one training step (``harmonic-ae``, ``sot-2048``).

    A validation pass is the task's own (``SynthAETask._evaluate``): the 800
    validation examples in eval mode under ``inference_mode``, batches of 200,
    precomputed CQT, per-example LSD and f0;
    ``track_validation_in_steps`` is its time in training steps at batch 16,
    one thread (lower is better; every 500 steps in ``cpu-long``, so a value
    of 5 costs 1% of the run).
    """

    rounds = 1
    repeat = (1, 3, 20.0)
    number = 1
    warmup_time = 0.0
    timeout = 300

    def setup(self):
        from sotbench.registry import LOSSES, MODELS
        from sotbench.tasks.synth_ae import SynthAETask

        self._threads = torch.get_num_threads()
        torch.set_num_threads(1)
        torch.manual_seed(0)
        self.evaluate = SynthAETask._evaluate  # the task's own validation pass
        self.model = MODELS.get("harmonic-ae")().train()
        self.loss = LOSSES.get("sot-2048")()
        self.train_audio = harmonic_batch(16, 4096, 16000, seed=3)
        self.val_audio = harmonic_batch(800, 4096, 16000, seed=4)
        with torch.no_grad():
            self.train_features = self.model.features(self.train_audio)
            self.val_features = self.model.features(self.val_audio)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-4, weight_decay=1e-4)

    def teardown(self):
        torch.set_num_threads(self._threads)

    def _train_step(self):
        self.model.train()
        harmonic_ae_step(self.model, self.loss, self.optimizer, self.train_audio, self.train_features)

    def _validate(self):
        self.evaluate(self.model, self.val_audio, self.val_features, 200)

    def time_validation_pass(self):
        self._validate()

    @with_unit("steps")
    def track_validation_in_steps(self):
        """One validation pass in units of batch-16 training steps (CPU time, one thread)."""
        import time

        t0 = time.process_time()
        self._validate()
        t1 = time.process_time()
        for _ in range(4):
            self._train_step()
        t2 = time.process_time()
        return (t1 - t0) / ((t2 - t1) / 4)


def _ssmpe_trainer(device: torch.device, batch: int):
    """Return ``step()`` running one SS-MPE training step (paper 002, full objective).

    HCQT features, support and harmonic-sum targets of ``batch`` 4-s excerpts
    (no gradient), :class:`~sotbench.losses.ssmpe.SSMPEObjective` ("full":
    support + harmonic + sparsity + timbre + geometric, one batched forward),
    backward, gradient-norm clip 10, AdamW (lr 1e-4).  fp32 on every device.
    """
    SSMPEObjective = require_attr("sotbench.losses.ssmpe", "SSMPEObjective")
    SSMPENet, HCQT_SETTINGS = require_attr("sotbench.models.ssmpe", "SSMPENet", "HCQT_SETTINGS")
    HCQT, support_target, harmonic_sum_target = require_attr(
        "sotbench.dsp.hcqt", "HCQT", "support_target", "harmonic_sum_target")
    torch.manual_seed(0)
    hp = dict(HCQT_SETTINGS)
    hcqt = HCQT(**hp).to(device)
    net = SSMPENet().to(device).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    objective = SSMPEObjective("full", frequencies_hz=hcqt.frequencies_hz)
    generator = torch.Generator().manual_seed(0)
    audio = torch.stack([torch.from_numpy(polyphonic_audio(4.0, hp["sample_rate"], seed=s))
                         for s in range(batch)]).to(device)

    def step():
        with torch.no_grad():
            feats = hcqt(audio)
            sup = support_target(feats, hcqt.harmonics)
            harm = harmonic_sum_target(feats, hcqt.harmonics, hcqt.top_db)
        loss = objective(net, feats, sup, harm, generator=generator)["total"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        sync(device)

    return step


class SSMPETraining:
    """Training steps per second of SS-MPE (HCQT + network + objectives + AdamW)."""

    params = [DEVICES, [1, 20]]
    param_names = ["device", "batch"]
    rounds = 1
    repeat = (1, 3, 30.0)
    number = 1
    warmup_time = 0.0
    timeout = 300
    # paper batch (20) on the GPU only (far too slow on a CPU, see docs/performance.md);
    # batch 1 on the CPU only (it would leave a GPU mostly unused)
    skip_params = [("cpu", 20), ("cuda", 1)]

    def setup(self, device, batch):
        self.device = require_device(device)
        self._step = _ssmpe_trainer(self.device, batch)
        if self.device.type == "cuda":
            self._step()  # warm-up (cuDNN autotuning, allocator); a CPU step is too slow to waste

    def time_training_step(self, device, batch):
        self._step()

    @with_unit("steps/s")
    def track_steps_per_second(self, device, batch):
        """Optimisation steps per second (higher is better)."""
        return 1.0 / measure(self._step, self.device)

    @on_device("cuda", params, also_skip=skip_params)
    @with_unit("MiB")
    def track_peak_gpu_mib(self, device, batch):
        """Peak CUDA memory of one training step."""
        return peak_cuda_mib(self._step, self.device)


# ---------------------------------------------------------------------------
# inference
# ---------------------------------------------------------------------------

def _build_mpe(name: str, device: torch.device):
    """Registered MPE model; SS-MPE without a checkpoint gets random weights."""
    try:
        return mpe_model(name, device)
    except NotImplementedError:
        if name != "ssmpe":
            raise
        SSMPE, SSMPENet, HCQT_SETTINGS = require_attr(
            "sotbench.models.ssmpe", "SSMPE", "SSMPENet", "HCQT_SETTINGS")
        HCQT = require_attr("sotbench.dsp.hcqt", "HCQT")
        torch.manual_seed(0)
        hp = dict(HCQT_SETTINGS)
        return SSMPE(SSMPENet(), HCQT(**hp), device=device)


class _InferenceBase:
    rounds = 1
    repeat = (1, 3, 10.0)
    number = 1
    warmup_time = 0.0
    timeout = 600

    def _setup(self, device, model, seconds):
        self.device = require_device(device)
        self.model = _build_mpe(model, self.device)
        self.audio = polyphonic_audio(seconds, AUDIO_SAMPLE_RATE, seed=7)
        self.audio_s = float(seconds)
        # warm-up on a short clip (lazy sessions/filters); PESTO needs > ~16k samples
        warm = AUDIO_SAMPLE_RATE // 2 if model == "crepe" else AUDIO_SAMPLE_RATE
        self.model.salience(self.audio[:warm], AUDIO_SAMPLE_RATE)
        sync(self.device)

    def _run(self):
        self.model.salience(self.audio, AUDIO_SAMPLE_RATE)
        sync(self.device)


class MPEInference(_InferenceBase):
    """Seconds of compute per audio second of every registered MPE model."""

    params = [DEVICES, MPE_MODELS]
    param_names = ["device", "model"]

    def setup(self, device, model):
        self._setup(device, model, CLIP_S.get(model, DEFAULT_CLIP_S))

    @with_unit("s/s")
    def track_seconds_per_audio_second(self, device, model):
        """Compute seconds per audio second of ``salience`` (CUDA events on the GPU)."""
        return measure(self._run, self.device) / self.audio_s

    @on_device("cuda", params)
    @with_unit("MiB")
    def track_peak_gpu_mib(self, device, model):
        """Peak CUDA memory of one ``salience`` call."""
        return peak_cuda_mib(self._run, self.device)


class MPEInferenceScaling(_InferenceBase):
    """SS-MPE and the hcqt-h1 baseline against audio length (Bach10 estimate)."""

    params = [DEVICES, ["ssmpe", "hcqt-h1"], SCALING_SECONDS]
    param_names = ["device", "model", "seconds"]

    def setup(self, device, model, seconds):
        self._setup(device, model, seconds)

    @with_unit("s/s")
    def track_seconds_per_audio_second(self, device, model, seconds):
        """Compute seconds per audio second of ``salience``."""
        return measure(self._run, self.device) / self.audio_s

    @on_device("cuda", params)
    @with_unit("MiB")
    def track_peak_gpu_mib(self, device, model, seconds):
        """Peak CUDA memory of one ``salience`` call."""
        return peak_cuda_mib(self._run, self.device)


class Bach10Inference:
    """Wall seconds to compute the salience of all ten Bach10 mixes (opt-in)."""

    params = [DEVICES, ["ssmpe", "hcqt-h1"]]
    param_names = ["device", "model"]
    rounds = 1
    repeat = 1
    number = 1
    warmup_time = 0.0
    timeout = 1200

    def setup(self, device, model):
        if os.environ.get("SOTBENCH_BENCH_BACH10", "") != "1":
            raise NotImplementedError("opt-in: set SOTBENCH_BENCH_BACH10=1 (takes minutes)")
        self.device = require_device(device)
        load_bach10 = require_attr("sotbench.data.bach10", "load_bach10")
        try:
            tracks = load_bach10()
            self.tracks = [(t.audio, t.sample_rate) for t in tracks]
        except (ValueError, OSError) as err:  # DatasetNotFound is a ValueError
            raise NotImplementedError(f"Bach10 not available: {err}") from err
        self.audio_s = sum(len(a) / sr for a, sr in self.tracks)
        self.model = _build_mpe(model, self.device)
        a, sr = self.tracks[0]
        self.model.salience(a[:sr], sr)

    def _run(self):
        for audio, sr in self.tracks:
            self.model.salience(audio, sr)
        sync(self.device)

    @with_unit("s")
    def track_total_seconds(self, device, model):
        """Seconds to compute the salience of all of Bach10 (334 s of audio)."""
        return measure(self._run, self.device, budget_s=0.0, warmup=False)

    @with_unit("s")
    def track_audio_seconds(self, device, model):
        """Seconds of audio in the Bach10 mixes (334 s)."""
        return self.audio_s
