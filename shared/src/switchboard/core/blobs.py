"""Content-addressed blobs: large payloads (files, images) stored once under `sb:blob:<sha256>`.

Messages carry a `BlobRef`, never the bytes. Storing is `SET NX`, so a blob already present (the same
image posted twice, a retried upload) is not written again; but its TTL is renewed, so a blob stored long ago
and posted again cannot expire in the middle of the activation that uses it now.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import redis
import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.wire import WireModel


class BlobRef(WireModel):
    kind: Literal["blob_ref"] = "blob_ref"
    sha256: str
    size: int
    content_type: str


class BlobStore:
    """Blob bytes live in Redis; the client must not decode responses (use `connect_async(..., raw)`)."""

    def __init__(self, client: aioredis.Redis, retention_s: int) -> None:
        self._redis = client
        self._retention_s = retention_s

    async def put(self, data: bytes, content_type: str) -> BlobRef:
        digest = hashlib.sha256(data).hexdigest()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.blob(digest), data, nx=True, ex=self._retention_s)
            pipe.expire(keys.blob(digest), self._retention_s)
            await pipe.execute()
        return BlobRef(sha256=digest, size=len(data), content_type=content_type)

    async def get(self, sha256: str) -> bytes | None:
        """The blob's bytes, or None when it expired (or does not match its address)."""
        return _verified(await self._redis.get(keys.blob(sha256)), sha256)


def _verified(data: bytes | None, sha256: str) -> bytes | None:
    """Never hand out bytes that do not match their address."""
    return data if data is not None and hashlib.sha256(data).hexdigest() == sha256 else None


class SyncBlobStore:
    """`BlobStore` for sync code (Celery threads): the same keys, `SET NX`, renewed retention and checks.

    The client must not decode responses (`connect_sync(..., decode_responses=False)`).
    """

    def __init__(self, client: redis.Redis, retention_s: int) -> None:
        self._redis = client
        self._retention_s = retention_s

    def put(self, data: bytes) -> str:
        """Store `data` (once); returns its sha256, the blob's address."""
        digest = hashlib.sha256(data).hexdigest()
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.blob(digest), data, nx=True, ex=self._retention_s)
            pipe.expire(keys.blob(digest), self._retention_s)
            pipe.execute()
        return digest

    def get(self, sha256: str) -> bytes | None:
        """The blob's bytes, or None when it expired (or does not match its address)."""
        return _verified(self._redis.get(keys.blob(sha256)), sha256)
