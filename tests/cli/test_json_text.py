"""``indented_json`` is ``json.dumps(data, indent=2, default=str, ensure_ascii=False)``, to the byte."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hg_localization.cli.json_text import indented_json

SAMPLES: list[Any] = [
    [],
    {},
    "a",
    None,
    [1, 2.5, True, False, None, 'é ✓ "q" \\ \n \x00 \u2028'],
    {"a": [], "b": {}, "c": [[]], "d": [{}], "e": ()},
    [{"model_id": "org/a", "size": 12, "filters": [], "config_names": ["x", "y"]}],
    [{"filters": [{"include": ["*.json"], "exclude": [], "config_name": None}]}],
    {"nan": math.nan, "inf": math.inf, "minus": -math.inf, "big": 2**70, "float": 1e-7},
    {"when": datetime(2026, 11, 29, tzinfo=UTC), "path": Path("/tmp/x")},
    {1: "an int key", None: "a null key"},
    ({"nested": [[1, [2, [3, {"deep": []}]]]]},),
]


def _random(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(9 if depth < 4 else 5)
    if pick == 0:
        return rng.choice(["", "a", "é", "\t", "\\", '"', "ü\U0001f600"]) * rng.randint(0, 3)
    if pick == 1:
        return rng.randint(-(10**6), 10**6)
    if pick == 2:
        return rng.choice([0.0, -0.0, 1.5, 1e300, math.nan])
    if pick == 3:
        return rng.choice([True, False])
    if pick == 4:
        return None
    if pick in (5, 6):
        return [_random(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {
        rng.choice('abcdé"') * rng.randint(1, 2): _random(rng, depth + 1) for _ in range(rng.randint(0, 4))
    }


@pytest.mark.parametrize("data", SAMPLES, ids=range(len(SAMPLES)))
def test_it_writes_what_json_writes(data: Any) -> None:
    assert indented_json(data) == json.dumps(data, indent=2, default=str, ensure_ascii=False)


def test_random_structures_are_written_as_json_writes_them() -> None:
    rng = random.Random(13)
    for _ in range(500):
        data = _random(rng)
        assert indented_json(data) == json.dumps(data, indent=2, default=str, ensure_ascii=False)


def test_a_cycle_is_refused_as_json_refuses_it() -> None:
    data: list[Any] = []
    data.append(data)
    with pytest.raises(ValueError, match="Circular"):
        indented_json(data)
