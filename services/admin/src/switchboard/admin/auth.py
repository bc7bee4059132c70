"""Bearer tokens and roles for the admin API.

Tokens come from `SWITCHBOARD_ADMIN_TOKENS` (a secret): `{"<token>": ["operator"]}` or
`{"<token>": {"name": "ada", "roles": ["operator"]}}`. Only their SHA-256 digests are kept in memory, and
a presented token is compared digest to digest in constant time. No token: 401 with `WWW-Authenticate:
Bearer`; a token without the role the route needs: 403. The caller's name goes to the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

OPERATOR = "operator"

bearer = HTTPBearer(auto_error=False, description="an admin token (`SWITCHBOARD_ADMIN_TOKENS`)")


@dataclass(frozen=True)
class Caller:
    name: str
    roles: frozenset[str]


class TokenBook:
    def __init__(self, callers: dict[bytes, Caller]) -> None:
        self._callers = callers

    @classmethod
    def from_secret(cls, secret: SecretStr) -> TokenBook:
        """Raises `ValueError` for a malformed setting (the service then refuses to start)."""
        try:
            entries = json.loads(secret.get_secret_value() or "{}")
        except json.JSONDecodeError as exc:
            raise ValueError(f"SWITCHBOARD_ADMIN_TOKENS is not JSON (at position {exc.pos})") from None
        if not isinstance(entries, dict):
            raise ValueError("SWITCHBOARD_ADMIN_TOKENS must be a JSON object: token -> roles")
        callers = {}
        for index, (token, grant) in enumerate(entries.items()):
            name, roles = (grant.get("name"), grant.get("roles")) if isinstance(grant, dict) else (None, grant)
            if not token or not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
                raise ValueError(f"SWITCHBOARD_ADMIN_TOKENS entry {index + 1} needs a token and a list of roles")
            digest = _digest(token)
            callers[digest] = Caller(str(name or f"token-{digest.hex()[:8]}"), frozenset(roles))
        return cls(callers)

    def caller(self, token: str) -> Caller | None:
        presented = _digest(token)
        found = None
        for digest, caller in self._callers.items():  # every entry compared: the time says nothing
            if hmac.compare_digest(digest, presented):
                found = caller
        return found


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def operator(request: Request,
             credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    """The FastAPI dependency of every `/api` route."""
    book: TokenBook = request.app.state.tokens
    caller = book.caller(credentials.credentials) if credentials is not None else None
    if caller is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    if OPERATOR not in caller.roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this token lacks the {OPERATOR!r} role")
    return caller


Operator = Annotated[Caller, Depends(operator)]
