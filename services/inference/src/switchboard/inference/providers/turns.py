"""Consecutive messages of one role folded into one turn, for APIs that want user and model turns to alternate.

The bridge's history does not alternate: parallel tool results are one `tool` message each, and a tool
result may be followed by a user message. Anthropic (`content` blocks) and Gemini (`parts`) both want such
neighbours in one turn, so each driver maps its messages to `{"role", <key>: [...]}` and folds them here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def merge_turns(turns: Iterable[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """`turns` with neighbours of one role joined (their `key` lists concatenated) and empty turns dropped,
    since both APIs refuse a turn with nothing in it. The input turns are not modified."""
    merged: list[dict[str, Any]] = []
    for turn in turns:
        if not turn[key]:
            continue
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1][key].extend(turn[key])
        else:
            merged.append({**turn, key: list(turn[key])})
    return merged
