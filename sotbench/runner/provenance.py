"""Who ran what, where and with which code: provenance recorded in every result."""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import socket
import subprocess
from pathlib import Path

import torch

__all__ = ["git_commit", "package_versions", "device_description", "config_hash"]

_PACKAGES = ("sotbench", "torch", "numpy", "scipy", "nnAudio", "mir_eval", "POT", "hydra-core",
             "basic-pitch", "torchcrepe", "pesto-pitch", "onnxruntime")


def git_commit(repo: Path | None = None) -> dict:
    """Commit of the sotbench source tree: ``{"commit": sha or None, "dirty": bool}``."""
    repo = repo or Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                             text=True, check=True, timeout=10).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, check=True, timeout=10).stdout.strip())
        return {"commit": sha, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def package_versions() -> dict:
    """Installed versions of the packages that change numbers (absent ones omitted)."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_description(device: torch.device) -> dict:
    """Human-readable description of the compute device and host."""
    info = {"type": device.type, "host": socket.gethostname(), "torch_threads": torch.get_num_threads()}
    if device.type == "cuda":
        info["name"] = torch.cuda.get_device_name(device)
    else:
        info["name"] = _cpu_name()
    return info


def config_hash(config: dict) -> str:
    """Short sha256 of a canonical JSON dump of ``config`` (12 hex digits)."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
