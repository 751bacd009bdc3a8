"""API.md's caption-option table says what `CaptionOptions` says: the same fields, types, defaults and ranges.

The model is the one source; this test keeps the table a faithful copy rather than generating it,
so the table's wording (the meaning column) stays written for readers.
"""

from __future__ import annotations

import re
from pathlib import Path

import annotated_types
import pytest

from f5worker.captions.options import CaptionOptions

API = Path(__file__).resolve().parents[1] / "API.md"
HEADER = "| option | type | default | range | meaning |"
JSON_TYPES = {int: "integer", float: "number", bool: "boolean"}


def table_rows() -> dict[str, list[str]]:
    """{option: [type, default, range, meaning]} from the table under API.md's 'Timing files'."""
    lines = API.read_text().splitlines()
    start = lines.index(HEADER) + 2  # after the header and its separator
    rows: dict[str, list[str]] = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        name, *cells = (cell.strip() for cell in line.strip("|").split("|"))
        rows[name.strip("`")] = cells
    return rows


def documented_default(text: str, kind: str) -> object:
    """The default cell as the JSON value it names."""
    if kind == "boolean":
        return {"true": True, "false": False}[text]
    return int(text) if kind == "integer" else float(text)


def model_range(name: str) -> str:
    """'ge..le' as API.md writes a range, from the field's constraints; '' when it has none."""
    bounds = {type(item): item for item in CaptionOptions.model_fields[name].metadata}
    low, high = bounds.get(annotated_types.Ge), bounds.get(annotated_types.Le)
    return f"{low.ge}..{high.le}" if low and high else ""


ROWS = table_rows()


def test_table_lists_exactly_the_model_fields() -> None:
    assert list(ROWS) == list(CaptionOptions.model_fields)


@pytest.mark.parametrize("name", list(CaptionOptions.model_fields))
def test_row_matches_the_field(name: str) -> None:
    field = CaptionOptions.model_fields[name]
    kind, default, bounds, meaning = ROWS[name]
    assert kind == JSON_TYPES[field.annotation]
    assert documented_default(default, kind) == field.default
    assert bounds == model_range(name)
    assert meaning


def test_the_parser_reads_the_table() -> None:
    """A table the parser could not read would make the checks above pass vacuously."""
    assert len(ROWS) >= 9 and re.fullmatch(r"\d+\.\.\d+", ROWS["max_lines"][2])
