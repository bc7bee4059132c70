"""The splitter: no piece over the limit, words and code blocks kept whole, nothing lost."""

from __future__ import annotations

import random
import re

import pytest

from switchboard.gateway.formatting import split_message


def without_added_fences(pieces: list[str]) -> str:
    """Join pieces, removing the fences the splitter added at piece boundaries."""
    joined = pieces[0]
    for piece in pieces[1:]:
        if joined.endswith("\n```") and piece.startswith("```"):
            joined = joined[: -len("\n```")] + "\n" + piece.split("\n", 1)[1]
        else:
            joined += "\n" + piece
    return joined


def words(text: str) -> list[str]:
    return re.findall(r"\S+", text.replace("```", " "))


def test_short_text_is_one_piece() -> None:
    assert split_message("hello") == ["hello"]
    assert split_message("") == [""]


def test_long_prose_splits_between_words() -> None:
    text = " ".join(f"word{i}" for i in range(1200))
    pieces = split_message(text)
    assert len(pieces) > 1 and all(len(p) <= 2000 for p in pieces)
    assert words(" ".join(pieces)) == words(text)


def test_a_code_block_cut_in_two_is_closed_and_reopened_with_its_language() -> None:
    code = "\n".join(f"    value_{i} = compute({i})  # step {i}" for i in range(120))
    text = "Here is the program:\n\n```python\n" + code + "\n```\n\nThat's all."
    pieces = split_message(text)
    assert len(pieces) >= 2 and all(len(p) <= 2000 for p in pieces)
    for piece in pieces:
        assert piece.count("```") % 2 == 0, "every piece has balanced fences"
    assert pieces[1].startswith("```python\n")
    assert "    value_" in pieces[1].split("\n", 1)[1][:20], "indentation survives the cut"
    assert without_added_fences(pieces) == text


def test_5000_characters_with_code_round_trip() -> None:
    rng = random.Random(7)
    prose = " ".join(rng.choice(["alpha", "beta", "gamma", "delta"]) for _ in range(500))
    code = "```js\n" + "\n".join(f"console.log({i});" for i in range(150)) + "\n```"
    text = f"{prose}\n\n{code}\n\n{prose}"
    assert len(text) > 5000
    pieces = split_message(text)
    assert all(len(p) <= 2000 for p in pieces)
    assert all(p.count("```") % 2 == 0 for p in pieces)
    assert words(without_added_fences(pieces)) == words(text)
    lines = {line for piece in pieces for line in piece.splitlines()}
    assert all(f"console.log({i});" in lines for i in range(150)), "no code line is cut"


def test_text_without_any_break_is_cut_hard() -> None:
    pieces = split_message("x" * 4500)
    assert [len(p) for p in pieces] == [1996, 1996, 508]


@pytest.mark.parametrize("limit", [50, 100, 333])
def test_random_texts_never_exceed_the_limit(limit: int) -> None:
    rng = random.Random(limit)
    for _ in range(50):
        tokens = [rng.choice(["word", "```", "\n", "\n\n", "a" * rng.randint(1, 40), "  indented"])
                  for _ in range(rng.randint(1, 200))]
        text = " ".join(tokens)
        assert all(len(p) <= limit for p in split_message(text, limit))
