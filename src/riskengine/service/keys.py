"""API keys: ``rk_<key id>_<secret>``. The store keeps the key id, the tenant and a SHA-256 of
the secret (a random 256-bit secret needs no slow hash); the full key is shown once, at
creation."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass

from riskengine.errors import InputError
from riskengine.store.base import TickStore

_KEY = re.compile(r"^rk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class NewKey:
    key: str  # the full key: shown once, never stored
    key_id: str
    tenant: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_tenant(tenant: str) -> str:
    if not isinstance(tenant, str) or not _TENANT.match(tenant):
        raise InputError(
            f"tenant {tenant!r} is not a valid name: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return tenant


def create_key(store: TickStore, tenant: str, label: str = "") -> NewKey:
    """A new key for ``tenant``, stored hashed."""
    check_tenant(tenant)
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    store.save_api_key(key_id, tenant, _hash(secret), label)
    return NewKey(f"rk_{key_id}_{secret}", key_id, tenant)


class KeyChecker:
    """Resolve a presented key to its tenant. Answers are cached for ``ttl`` seconds, so a
    revoked key stops working within that time without a store query per request."""

    def __init__(self, store: TickStore, *, ttl: float = 5.0):
        self.store = store
        self.ttl = ttl
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def tenant(self, key: str, *, max_age: float | None = None) -> str | None:
        """The key's tenant, or None for a malformed, unknown or revoked key; an answer read
        from the store less than ``max_age`` seconds ago (default: the ttl) is reused (an open
        socket's periodic check asks for a younger one, shared by the sockets of one key)."""
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < (self.ttl if max_age is None else max_age):
            return hit[1]
        tenant = self._lookup(key)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now, tenant)
        return tenant

    def _lookup(self, key: str) -> str | None:
        m = _KEY.match(key or "")
        if m is None:
            return None
        key_id, secret = m.groups()
        rows = self.store.api_keys(key_id=key_id)
        if not rows or rows[0]["revoked_at"] is not None:
            return None
        if not hmac.compare_digest(rows[0]["secret_hash"], _hash(secret)):
            return None
        return rows[0]["tenant"]
