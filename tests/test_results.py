"""Results store primitives: atomic writes never leave partial files."""
from __future__ import annotations

import json

import pytest

from sotbench import results


def test_atomic_json_round_trip_converts_numpy_and_non_finite(tmp_path):
    import numpy as np

    path = tmp_path / "a" / "result.json"
    results.atomic_write_json(path, {"x": np.float32(1.5), "v": np.arange(3), "nan": float("nan")})
    assert json.loads(path.read_text()) == {"x": 1.5, "v": [0, 1, 2], "nan": None}


def test_corrupt_result_file_is_a_clear_error(tmp_path):
    path = tmp_path / "result.json"
    path.write_text("{truncated")
    with pytest.raises(ValueError, match="corrupt.*overwrite=true"):
        results.read_result(path)
