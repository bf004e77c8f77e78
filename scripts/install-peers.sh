#!/usr/bin/env bash
# Install the peer multi-pitch estimators (basic-pitch, torchcrepe, pesto) into
# the project venv without TensorFlow, without torchaudio, without replacing the
# pinned CPU torch and without downgrading numpy.  Idempotent: re-running it is a
# no-op when the right versions are already present.
#
#   scripts/install-peers.sh            # uses /work/main/.venv (or $SOTBENCH_VENV)
#   PIP=/path/to/pip scripts/install-peers.sh
#
# Why --no-deps:
#   * basic-pitch 0.4.0 declares tensorflow (which downgrades numpy) on Linux;
#     without it, the package runs its bundled ONNX model through onnxruntime.
#   * torchcrepe and pesto-pitch declare torchaudio, whose PyPI wheel does not
#     load with the CPU torch here; they use it only for file I/O, which
#     sotbench.models.peers never calls (see docs/peers.md).
# The runtime needs of the three packages are installed first, with the torch
# pin enforced through PIP_CONSTRAINT.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${SOTBENCH_VENV:-$here/.venv}"
PIP="${PIP:-$venv/bin/pip}"
export PIP_CONSTRAINT="${PIP_CONSTRAINT:-$here/constraints.txt}"

# Runtime needs (the `peers` extra of sotbench): onnxruntime runs basic-pitch's
# nmp.onnx; librosa, resampy>=0.4.3 (0.4.2 imports the removed pkg_resources),
# pretty-midi and scipy are imported by basic-pitch at module import time.
"$PIP" install "onnxruntime>=1.16" "librosa>=0.10" "resampy>=0.4.3" \
    "pretty-midi>=0.2.10" "scipy>=1.10" "numpy>=1.24"

# The peers themselves, pinned, without their declared dependencies.
"$PIP" install --no-deps "basic-pitch==0.4.0" "torchcrepe==0.0.24" "pesto-pitch==2.0.1"

# The SOT authors' loss package (import name `sot`): oracle and peer of sotbench's losses.
# It declares torchaudio but imports it only for its mel transform (sotbench.losses.peers).
"$PIP" install --no-deps "sot-loss==0.1.5"

echo "peers installed: basic-pitch 0.4.0, torchcrepe 0.0.24, pesto-pitch 2.0.1, sot-loss 0.1.5 (no TensorFlow, no torchaudio)"
