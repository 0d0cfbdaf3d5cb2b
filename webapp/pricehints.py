"""The price override entry a user can paste to price a model that has no known price: a
``[[price]]`` table in the overrides file format (documented in ``ingestor/overrides.py``;
the webapp may not import that module, so the format is written out here), with placeholder
prices to fill in. Pure text, no Dash, no database."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ingestor.config import cli_command


def reprice_hint() -> str:
    """The reprice command to run after editing the overrides file."""
    return f"{cli_command()} reprice --prices FILE"


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes, ASCII only, are valid TOML escapes)."""
    return json.dumps(value, ensure_ascii=True)


def override_entry(provider: str, model: str, calls: int = 0, tokens: int = 0) -> str:
    """The ``[[price]]`` entry for ``provider`` / ``model`` (exact ids as logged; the file
    matches them ignoring case), prices USD per million tokens, placeholders at 0.0.

    A call logged without a provider gets ``provider = "*"`` (any provider); without a model
    id no exact entry can match, so the entry is written commented out."""
    head = [
        f"# {provider or '(no provider)'}/{model or '(no model)'}: "
        + (f"{calls:,} call{'s' if calls != 1 else ''}, {tokens:,} tokens " if calls else "")
        + "with no known price.",
        "# Prices are USD per million tokens: replace the 0.0 placeholders.",
    ]
    body = [
        "[[price]]",
        f"provider = {toml_string(provider) if provider.strip() else toml_string('*')}",
        f"model = {toml_string(model)}",
        "input = 0.0          # non-cached input tokens",
        "output = 0.0         # output tokens",
        "# cache_read = 0.0   # optional, defaults to input",
        "# cache_write = 0.0  # optional, defaults to input",
        "# valid_from = 2026-01-01  # optional: only calls from this date (UTC) on",
    ]
    if not provider.strip():
        head.append("# The calls were logged without a provider: this entry matches any.")
    if not model.strip():
        head.append("# The calls were logged without a model id: no entry can match them.")
        body = ["# " + line for line in body]
    return "\n".join([*head, *body]) + "\n"


def overrides_file(models: Sequence[Mapping[str, Any]]) -> str:
    """Every entry for ``models`` (rows with provider, model, calls, tokens), one file."""
    return "\n".join(
        override_entry(
            str(m["provider"]),
            str(m["model"]),
            int(m.get("calls") or 0),
            int(m.get("tokens") or 0),
        )
        for m in models
    )
