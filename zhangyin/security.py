"""Who is calling. Authenticated by default: a route is public only by saying so.

Internal services and the console reach `/v1/ledger/...` with a service token
(`Authorization: Bearer <token>`). The token is `ZHANGYIN_SERVICE_TOKEN` when
set, otherwise derived from the secret key (`python -m zhangyin service-token`
prints it), so no credential is a constant in the code.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from fastapi import Request

from zhangyin.config import Settings
from zhangyin.errors import DomainError


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401
    title = "Authentication required"
    message_zh = "请先登录"
    message_en = "Please sign in first"


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    title = "Not allowed"
    message_zh = "无权执行此操作"
    message_en = "You are not allowed to do this"


@dataclass(frozen=True)
class ServiceCaller:
    """An internal service or console back end trusted with the ledger API."""

    name: str = "internal"


def service_token(settings: Settings) -> str:
    if settings.service_token:
        return settings.service_token
    key = settings.resolved_secret_key().encode()
    return hmac.new(key, b"zhangyin-service-token-v1", hashlib.sha256).hexdigest()


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


def require_service(request: Request) -> ServiceCaller:
    """Dependency: the caller presents the service token."""
    token = bearer_token(request)
    expected: str = request.app.state.service_token
    if token is None:
        raise Unauthenticated()
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Forbidden()
    return ServiceCaller()
