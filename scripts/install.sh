#!/usr/bin/env bash
# Create .venv (if needed) and install sotbench with its test tools, on a fresh machine.
#
#   scripts/install.sh            # sotbench + dev tools (pytest, hypothesis, asv, ...) + peer models
#   SOTBENCH_NO_PEERS=1 scripts/install.sh   # skip basic-pitch / torchcrepe / pesto
#
# torch is pinned to the local CPU build through constraints.txt, passed as
# PIP_CONSTRAINT so that it also reaches pip's build isolation: without it pip
# may float torch and pull gigabytes of CUDA wheels.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
export PIP_CONSTRAINT="$here/constraints.txt"
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/pip install -q "torch==2.13.0"
.venv/bin/pip install -q -e ".[dev,peers,slurm]"
if [ -z "${SOTBENCH_NO_PEERS:-}" ]; then
    PIP="$here/.venv/bin/pip" bash scripts/install-peers.sh >/dev/null
fi
.venv/bin/python -c "import torch, sotbench; print('sotbench', sotbench.__version__, '| torch', torch.__version__)"
