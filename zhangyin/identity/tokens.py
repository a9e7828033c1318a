"""Signed access tokens (JWT, HS256) and opaque refresh tokens.

Access tokens live 15 minutes and name their session, so revoking the session
ends them at once (every request checks it). Only HS256 is accepted: a token
with `alg: none` or another algorithm is refused before its claims are read.
The signing key is derived from the secret key, never used raw.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
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


class TokenSigner:
    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode(), b"zhangyin-access-token-v1", "sha256").digest()

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
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def decode(self, token: str) -> AccessClaims:
        """The claims of a valid, unexpired token of either kind; TokenInvalid otherwise."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM:
                raise TokenInvalid()
            payload = jwt.decode(
                token,
                self._key,
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
