"""The README documents every table and column of the schema, exactly as the models say."""

from __future__ import annotations

import re
from pathlib import Path

from ingestor import schemadoc
from ingestor.schema import metadata

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_schema_section_is_current() -> None:
    text = README.read_text()
    assert schemadoc.splice(text) == text, "run: python -m ingestor.schemadoc --write"


def test_every_table_and_column_is_documented() -> None:
    text = README.read_text()
    for table in metadata.tables.values():
        section = text.split(f"### `{table.name}`", 1)
        assert len(section) == 2, f"table {table.name} missing from README"
        body = section[1].split("\n### ", 1)[0]
        documented = set(re.findall(r"^\| `([a-z_0-9]+)`", body, re.M))
        assert documented == {c.name for c in table.columns}, table.name
        for c in table.columns:
            assert c.comment, f"{table.name}.{c.name} has no comment"
