"""The configuration editor's problems, each placed at the field it names.

The console validates a configuration exactly as `PUT /v2/org/config` does (orjson, then
`OrgConfig.model_validate`); this module only turns what that validation says into
problems with a dotted path (`loyaltyPrograms.0.tiers.1.threshold`), the top-level section
the path lies in, and the line of the operator's text where that field sits.

Pydantic names the place of a field's problem (`loc`). The problems OrgConfig finds across
fields (duplicates, tiers out of order ...) come as one message naming places in its own
words (`loyaltyPrograms[10].tiers: thresholds must rise ...`, the program by its id); they
are mapped to the same dotted paths here, by the ids the operator's document holds.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from patron.orgs.config import OrgConfig

# The top-level fields of the document, as the JSON spells them.
SECTIONS: tuple[str, ...] = tuple((field.alias or name) for name, field in OrgConfig.model_fields.items())
# The field that names an item of a list in OrgConfig's own messages (`loyaltyPrograms[10]`).
_ITEM_KEYS = {
    "loyaltyPrograms": "programId",
    "groupPrograms": "groupProgramId",
    "partnerPrograms": "partnerProgramId",
    "couponSeries": "seriesId",
    "referralCampaigns": "campaignToken",
}
# Messages of OrgConfig that name their field in words only.
_PHRASES = {
    "a custom field is declared twice": "customFields",
    "a card series id or code is declared twice": "cardSeries",
    "a status label is declared twice": "statusLabels",
}
_PLACE = re.compile(r"^([a-z][A-Za-z]*)(?:\[([^\]]*)\])?((?:\.[A-Za-z]+)*)(:\s*|\s+)(.*)$", re.S)
_PREFIX = "Value error, "


@dataclass(frozen=True, slots=True)
class Problem:
    field: str  # the dotted path, "" for the document as a whole
    message: str
    line: int | None = None  # the line of the operator's text where the field sits

    @property
    def section(self) -> str:
        return self.field.split(".", 1)[0]


def syntax_problem(exc: json.JSONDecodeError) -> Problem:
    """A JSON syntax error, with its line and column."""
    return Problem(
        "", f"This is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.", exc.lineno
    )


def validation_problems(exc: ValidationError, document: dict[str, Any], text: str) -> list[Problem]:
    lines = field_lines(text)
    out: list[Problem] = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix(_PREFIX)
        loc = [str(part) for part in error["loc"]]
        if loc:
            out.append(_placed(".".join(loc), message, lines))
        else:  # OrgConfig's checks across fields: one message, problems joined by "; "
            out.extend(_placed(*_named(part, document), lines) for part in message.split("; ") if part)
    return out


def _placed(field: str, message: str, lines: dict[str, int]) -> Problem:
    """The problem at the line of its field, or of the nearest enclosing field the text has."""
    path = field
    while path and path not in lines:
        path = path.rpartition(".")[0]
    return Problem(field, message, lines.get(path))


def _named(problem: str, document: dict[str, Any]) -> tuple[str, str]:
    """(dotted path, message) of one of OrgConfig's cross-field problems."""
    if problem in _PHRASES:
        return _PHRASES[problem], problem
    if problem == "an extended field is declared twice":
        for section in ("extendedFields", "cardExtendedFields"):
            names = [item.get("name") for item in _items(document, section)]
            if len(set(map(str, names))) != len(names):
                return section, problem
        return "extendedFields", problem
    match = _PLACE.match(problem)
    if match is None or match[1] not in SECTIONS:
        return "", problem
    section, item, rest = match[1], match[2], match[3]
    # "place: what is wrong" drops the place; "userSource 'X' is not ..." keeps its words.
    message = match[5] if match[4].startswith(":") and match[5] else problem
    path = section
    if item is not None:
        key = _ITEM_KEYS.get(section)
        found = next(
            (i for i, it in enumerate(_items(document, section)) if key and str(it.get(key)) == item), None
        )
        path = f"{section}.{found}" if found is not None else section
    return path + rest, message


def _items(document: dict[str, Any], section: str) -> list[dict[str, Any]]:
    value = document.get(section)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_SCALAR = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null")


def field_lines(text: str) -> dict[str, int]:
    """The line (1-based) of every field and list item of a JSON text, by dotted path: where
    its key is written (for an item, where its value starts). For text that is valid JSON
    (checked before); anything unexpected ends the walk with what it found so far."""
    found: dict[str, int] = {}
    with contextlib.suppress(ValueError, IndexError, RecursionError):
        _Walk(text, found).value(0, "")
    return found


class _Walk:
    def __init__(self, text: str, found: dict[str, int]) -> None:
        self.text = text
        self.found = found

    def line(self, at: int) -> int:
        return self.text.count("\n", 0, at) + 1

    def skip(self, at: int) -> int:
        match = _WS.match(self.text, at)
        assert match is not None  # the pattern matches the empty string
        return match.end()

    def string(self, at: int) -> tuple[str, int]:
        match = _STRING.match(self.text, at)
        if match is None:
            raise ValueError
        return str(json.loads(match.group())), match.end()

    def value(self, at: int, path: str) -> int:
        text = self.text
        at = self.skip(at)
        char = text[at]
        if char == '"':
            return self.string(at)[1]
        if char == "{":
            at = self.skip(at + 1)
            if text[at] == "}":
                return at + 1
            while True:
                at = self.skip(at)
                start = at
                key, at = self.string(at)
                child = f"{path}.{key}" if path else key
                self.found.setdefault(child, self.line(start))
                at = self.skip(at)
                if text[at] != ":":
                    raise ValueError
                at = self.skip(self.value(at + 1, child))
                if text[at] == "}":
                    return at + 1
                if text[at] != ",":
                    raise ValueError
                at += 1
        if char == "[":
            at = self.skip(at + 1)
            if text[at] == "]":
                return at + 1
            index = 0
            while True:
                at = self.skip(at)
                child = f"{path}.{index}" if path else str(index)
                self.found.setdefault(child, self.line(at))
                at = self.skip(self.value(at, child))
                if text[at] == "]":
                    return at + 1
                if text[at] != ",":
                    raise ValueError
                at += 1
                index += 1
        match = _SCALAR.match(text, at)
        if match is None:
            raise ValueError
        return match.end()
