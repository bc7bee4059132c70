"""What a PromQL expression reads: its metric names and the label matchers it uses.

A deliberately small scanner, enough for the expressions this project writes (dashboards and alert
rules): strings, `by (...)`-style label lists, durations, functions and keywords are set aside, and what
remains are metric names. Syntax itself is checked by promtool.
"""

from __future__ import annotations

import re

FUNCTIONS_AND_KEYWORDS = frozenset({
    "abs", "absent", "absent_over_time", "avg", "avg_over_time", "bool", "bottomk", "by", "ceil", "changes",
    "clamp", "clamp_max", "clamp_min", "count", "count_over_time", "count_values", "delta", "deriv", "exp",
    "floor", "group", "group_left", "group_right", "histogram_quantile", "holt_winters", "idelta", "ignoring",
    "increase", "irate", "label_join", "label_replace", "last_over_time", "ln", "log2", "log10", "max",
    "max_over_time", "min", "min_over_time", "offset", "on", "predict_linear", "quantile", "quantile_over_time",
    "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc", "sqrt", "stddev", "stdvar", "sum",
    "sum_over_time", "time", "timestamp", "topk", "vector", "without", "and", "or", "unless", "inf", "nan",
})
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_MATCHERS = re.compile(r"\{([^}]*)\}")
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_IDENTIFIER = re.compile(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)")
_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:\\.|[^"\\])*)"')


def metric_names(expr: str) -> set[str]:
    """Metric names `expr` reads."""
    text = _MATCHERS.sub(" ", expr)
    text = _LABEL_LIST.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _STRING.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        name = match.group(1)
        following = text[match.end():].lstrip()
        if name.lower() in FUNCTIONS_AND_KEYWORDS or following.startswith("("):
            continue
        names.add(name)
    return names


def matchers(expr: str) -> list[tuple[str, str, str]]:
    """(label, operator, value) of every label matcher in `expr`, values unescaped."""
    found = []
    for block in _MATCHERS.findall(expr):
        for label, operator, value in _MATCHER.findall(block):
            found.append((label, operator, value.encode().decode("unicode_escape")))
    return found
