"""Injected failures: make the next matching REST requests fail as Discord's edge would.

A rule matches a request by method (optional) and a regular expression
searched in the API path without its version prefix (``/channels/123/messages``);
the next ``count`` matching requests get the rule's response instead of
being handled, so nothing they asked for happens. Responses are faithful:

* 429: JSON ``{"message", "retry_after", "global", "code"}`` with
  ``Retry-After``, ``Via`` (without which discord.py does not retry),
  ``X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket`` and
  ``X-RateLimit-Scope`` (``user`` or ``global``; a global one also sends
  ``X-RateLimit-Global: true``);
* 400, 401 and 413: Discord's JSON refusals (Invalid Form Body 50035, Invalid Webhook Token 50027, Request
  entity too large 40005), which the same request would meet again;
* 500: Discord's JSON ``{"message": "500: Internal Server Error", "code": 0}``;
* 502 and 504: the HTML page Cloudflare answers with;
* 503: the plain-text body of Discord's upstream proxy.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import errors
from .ratelimit import BucketSpec
from .responses import json_response

# Discord's refusals for good, as its JSON errors (the same request will be refused again).
_REFUSALS = {
    400: {"message": "Invalid Form Body", "code": 50035},
    401: {"message": "Invalid Webhook Token", "code": 50027},
    413: {"message": "Request entity too large", "code": 40005},
}
FAULT_STATUSES = (*_REFUSALS, 429, 500, 502, 503, 504)
DEFAULT_RETRY_AFTER_S = 1.0
_HTML_PAGES = {
    502: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
    "<hr><center>cloudflare</center></body></html>",
    504: "<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1>"
    "</center><hr><center>cloudflare</center></body></html>",
}
_UPSTREAM_503 = "upstream connect error or disconnect/reset before headers. reset reason: overflow"


@dataclass
class FaultRule:
    """One armed failure: which requests it hits, what they get, and how many remain."""

    id: int
    method: str | None
    path_pattern: str
    status: int
    count: int
    remaining: int
    retry_after: float
    is_global: bool

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and re.search(self.path_pattern, path) is not None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path_pattern": self.path_pattern,
            "status": self.status,
            "count": self.count,
            "remaining": self.remaining,
            "retry_after": self.retry_after if self.status == 429 else None,
            "global": self.is_global,
        }


class FaultInjector:
    """The armed rules (first armed, first used) and how many responses were injected."""

    def __init__(self, wall: Callable[[], float] = time.time):
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._wall = wall
        self.injected = 0

    def arm(self, spec: dict[str, Any]) -> FaultRule:
        """Validate a control API body and arm it; raises a 400 ``DiscordError`` when invalid."""
        status = spec.get("status")
        if status not in FAULT_STATUSES:
            raise errors.invalid_form_body("status", "BASE_TYPE_CHOICES", f"Must be one of {list(FAULT_STATUSES)}.")
        pattern = spec.get("path_pattern")
        if not isinstance(pattern, str) or not pattern:
            raise errors.invalid_form_body("path_pattern", "BASE_TYPE_REQUIRED", "A regular expression is required.")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise errors.invalid_form_body("path_pattern", "REGEX_INVALID", str(exc)) from None
        method = spec.get("method")
        if method is not None and (not isinstance(method, str) or not method.isalpha()):
            raise errors.invalid_form_body("method", "BASE_TYPE_STRING", "Must be an HTTP method name.")
        count = spec.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise errors.invalid_form_body("count", "NUMBER_TYPE_MIN", "Must be an integer of at least 1.")
        retry_after = spec.get("retry_after", DEFAULT_RETRY_AFTER_S)
        if not isinstance(retry_after, int | float) or isinstance(retry_after, bool) or retry_after < 0:
            raise errors.invalid_form_body("retry_after", "NUMBER_TYPE_MIN", "Must be a number of seconds >= 0.")
        rule = FaultRule(
            id=next(self._ids),
            method=method.upper() if method else None,
            path_pattern=pattern,
            status=status,
            count=count,
            remaining=count,
            retry_after=float(retry_after),
            is_global=bool(spec.get("global", False)),
        )
        self._rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first armed rule matching this request, used up by one; None when none matches."""
        for rule in self._rules:
            if rule.matches(method, path):
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
                self.injected += 1
                return rule
        return None

    def pending(self) -> list[dict[str, Any]]:
        return [rule.view() for rule in self._rules]

    def clear(self) -> int:
        """Disarm every rule; returns how many were armed."""
        cleared = len(self._rules)
        self._rules.clear()
        return cleared

    def response(self, rule: FaultRule, bucket: BucketSpec) -> web.Response:
        """The response ``rule`` injects for a request that would have used ``bucket``."""
        if rule.status == 429:
            return self._too_many_requests(rule, bucket)
        if rule.status == 500:
            return json_response({"message": "500: Internal Server Error", "code": 0}, status=500)
        if rule.status in _REFUSALS:
            return json_response(_REFUSALS[rule.status], status=rule.status)
        if rule.status == 503:
            return web.Response(status=503, text=_UPSTREAM_503, content_type="text/plain")
        return web.Response(status=rule.status, text=_HTML_PAGES[rule.status], content_type="text/html")

    def _too_many_requests(self, rule: FaultRule, bucket: BucketSpec) -> web.Response:
        body = {
            "message": "You are being rate limited.",
            "retry_after": rule.retry_after,
            "global": rule.is_global,
            "code": 0,
        }
        headers = {
            "Retry-After": str(math.ceil(rule.retry_after)),
            "Via": "1.1 google",
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{self._wall() + rule.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{rule.retry_after:.3f}",
            "X-RateLimit-Bucket": bucket.hash,
            "X-RateLimit-Scope": "global" if rule.is_global else "user",
        }
        if rule.is_global:
            headers["X-RateLimit-Global"] = "true"
        return json_response(body, status=429, headers=headers)
