"""Signed access tokens (JWT, HS256) and opaque refresh tokens.

Access tokens live 15 minutes and name their session, so revoking the session
ends them at once (every request checks it). Only HS256 is accepted: a token
with `alg: none` or another algorithm is refused before its claims are read.
The signing key is derived from the secret key, never used raw.

Key ring: every token names its signing key in the `kid` header (an id derived
from the key, which reveals nothing of it). Tokens are signed with the current
key; keys rotated out (ZHANGYIN_PREVIOUS_SECRET_KEYS) still verify, so a
rotation does not log anyone out. A token without a `kid`, or with one not in
the ring, is refused. See docs/security.md, "Rotating the secret key".
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import jwt

from zhangyin.clock import utcnow
from zhangyin.identity.errors import TokenInvalid

ISSUER = "zhangyin"
AUDIENCE = {"customer": "zhangyin-app", "staff": "zhangyin-console"}
ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    kind: str  # "customer" or "staff"
    subject_id: str
    session_id: str
    device_id: str | None
    auth_methods: tuple[str, ...]


def signing_key(secret_key: str) -> bytes:
    """The HMAC key of access tokens, derived from a secret key."""
    return hmac.new(secret_key.encode(), b"zhangyin-access-token-v1", "sha256").digest()


def key_id(key: bytes) -> str:
    """A public name for a signing key (a one-way digest: it does not help guess the key)."""
    return hmac.new(key, b"zhangyin-access-token-kid", "sha256").hexdigest()[:16]


class TokenSigner:
    def __init__(self, secret_key: str, previous_keys: Sequence[str] = ()) -> None:
        self._key = signing_key(secret_key)
        self._kid = key_id(self._key)
        self._ring = {self._kid: self._key}
        for old in previous_keys:
            key = signing_key(old)
            self._ring.setdefault(key_id(key), key)

    def issue(self, claims: AccessClaims, ttl: timedelta) -> str:
        now = utcnow()
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE[claims.kind],
            "typ": claims.kind,
            "sub": claims.subject_id,
            "sid": claims.session_id,
            "did": claims.device_id,
            "amr": list(claims.auth_methods),
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM, headers={"kid": self._kid})

    def decode(self, token: str) -> AccessClaims:
        """The claims of a valid, unexpired token of either kind; TokenInvalid otherwise."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM:
                raise TokenInvalid()
            key = self._ring.get(str(header.get("kid")))
            if key is None:
                raise TokenInvalid()
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=list(AUDIENCE.values()),
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "sid", "typ", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenInvalid() from exc
        kind = payload.get("typ")
        if kind not in AUDIENCE or payload.get("aud") != AUDIENCE[kind]:
            raise TokenInvalid()
        amr = payload.get("amr") or []
        return AccessClaims(
            kind=kind,
            subject_id=str(payload["sub"]),
            session_id=str(payload["sid"]),
            device_id=payload.get("did"),
            auth_methods=tuple(str(m) for m in amr),
        )


def new_refresh_token() -> str:
    return "zyr_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
