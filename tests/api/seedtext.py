"""Sample JSON blocks of the seed documents, read from copies in tests/fixtures/, and a
shape comparison of our responses against them.

Line numbers are the seeds' own (1-based, inclusive); shared/spec/seed-003-rules.md cites
the same numbers. The tests never read the seeds: lines a..b of seed NNN are copied verbatim
to tests/fixtures/seedNNN/La-b.txt (one line: La.txt) by tests/fixtures/copy_seeds.py, which
also checks the copies against the seeds and that each block ends at its closing fence
(tests/fixtures/README.md). A range without a copy fails here, naming the file to make.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[1] / "fixtures"
SEED_003 = "003_ff989a97f81a99eb.txt"  # the v2 customers API
SEED_000 = "000_05f42ed73f24fc62.txt"  # customer event notifications (markdown)


@cache
def seed_text(name: str, first: int, last: int) -> str:
    """Lines first..last of a seed, from their copy in tests/fixtures/."""
    span = f"L{first}" if first == last else f"L{first}-{last}"
    copy = FIXTURES / f"seed{name[:3]}" / f"{span}.txt"
    assert copy.is_file(), (
        f"no copy of {name}:{span}: run python tests/fixtures/copy_seeds.py <seeds> {name[:3]} {first} {last}"
    )
    return copy.read_text(encoding="utf-8").removesuffix("\n")


def seed_line(name: str, number: int) -> str:
    return seed_text(name, number, number)


def seed_json(name: str, first: int, last: int, fixes: tuple[tuple[str, str], ...] = ()) -> Any:
    """Parse lines first..last of a seed as JSON, after exact string fixes.

    Each fix is (old, new) and must match exactly once: a fix that stops matching (the copy
    was corrected or replaced) fails instead of silently doing nothing.
    """
    text = seed_text(name, first, last)
    for old, new in fixes:
        assert text.count(old) == 1, (
            f"seed fix {old!r} matches {text.count(old)} times in {name}:L{first}-{last}"
        )
        text = text.replace(old, new)
    return json.loads(text)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"  # JSON has one number type: 230 and 230.0 are the same type
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


# Objects whose keys are data, not schema: custom and extended field names are the org's
# own (003:L2359-2362 "Gender", "Favorite Color"; L2456-2465 card fields), and segments are
# the org's segment names. Only their type (an object) is compared.
FREE_FORM_KEYS = frozenset({"fields", "extendedFields", "customFields", "segments"})


def shape(ours: Any, sample: Any, path: str = "$") -> list[str]:
    """Where `ours` lacks the sample's structure: every key of the sample is present with the
    same JSON type, recursively; for lists the first elements are compared when both lists
    are non-empty; null in the sample matches anything. Extra keys of ours are allowed.
    Returns the differences, one "path: problem" string each."""
    if sample is None:
        return []
    if json_type(ours) != json_type(sample):
        return [f"{path}: {json_type(ours)} where the sample has {json_type(sample)}"]
    problems: list[str] = []
    if isinstance(sample, dict):
        if path.rsplit(".", 1)[-1] in FREE_FORM_KEYS:
            return []
        for key, value in sample.items():
            if key not in ours:
                problems.append(f"{path}.{key}: missing")
            else:
                problems.extend(shape(ours[key], value, f"{path}.{key}"))
    elif isinstance(sample, list) and sample and ours:
        problems.extend(shape(ours[0], sample[0], f"{path}[0]"))
    return problems


def assert_shape(ours: Any, sample: Any, known: dict[str, str] | None = None) -> None:
    """shape() with an explicit list of known differences (path -> why), each documented at
    the call site; anything else is a failure."""
    unexpected = [p for p in shape(ours, sample) if p not in (known or {})]
    assert not unexpected, "response differs from the seed sample:\n" + "\n".join(unexpected)
