"""Every parser of user files, fed a few hundred seeded mutations of a valid file: a clean error or a valid
result every time; never a crash, a hang, or an infinite value accepted (``bench/fuzz.py`` runs 10,000)."""

from __future__ import annotations

import pytest
from fuzzing import TARGETS, fuzz

CASES = 200


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TARGETS))
def test_parser_survives_fuzzing(name):
    result = fuzz(name, CASES, seed=1)
    assert result["cases"] == CASES
    assert result["crash"] == result["hang"] == result["nonfinite"] == 0, result["examples"]
    assert result["error"] > 0  # the mutations do break the files
