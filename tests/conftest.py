"""Suite-wide pytest configuration: hypothesis profiles and shared fixtures.

Hypothesis profiles
-------------------
* ``dev`` (default, local runs): random exploration, a new draw each run;
  a failure prints the seed/blob to reproduce it (``--hypothesis-seed=N``).
* ``ci``: ``derandomize=True`` -- every property test draws the same examples
  on every run, so a CI failure is reproducible and CI never fails on a
  draw nobody has seen before.  Loaded when ``SOTBENCH_HYPOTHESIS_PROFILE=ci``
  or, unless that variable names another profile, when ``CI`` is set (any
  non-empty value); ``.ci/run`` sets it.

Both profiles disable hypothesis' per-example ``deadline``: on a shared CPU a
slow example is load, not a defect.  ``dev`` sets ``derandomize=False``
explicitly: hypothesis' own defaults turn derandomization on whenever it
detects CI.  The active profile is printed in the pytest header.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("dev", deadline=None, print_blob=True, derandomize=False)
settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True)


def _profile_name() -> str:
    """Profile chosen by the environment (``SOTBENCH_HYPOTHESIS_PROFILE``, then ``CI``)."""
    name = os.environ.get("SOTBENCH_HYPOTHESIS_PROFILE", "").strip()
    if name:
        return name
    return "ci" if os.environ.get("CI", "").strip() else "dev"


HYPOTHESIS_PROFILE = _profile_name()
settings.load_profile(HYPOTHESIS_PROFILE)


def pytest_report_header(config):
    """Name the hypothesis profile in the session header (CI logs show which one ran)."""
    derandomize = settings.get_profile(HYPOTHESIS_PROFILE).derandomize
    return (f"sotbench hypothesis profile: {HYPOTHESIS_PROFILE} "
            f"({'derandomized, same draws every run' if derandomize else 'random draws'})")


@pytest.fixture(scope="module")
def one_thread():
    """Run a test module with one torch intra-op thread, restoring the count afterwards.

    Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``.  Tiny
    batches run faster on one thread than on several busy ones, and one thread
    makes CPU reductions reproducible across machines with other core counts.
    """
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
