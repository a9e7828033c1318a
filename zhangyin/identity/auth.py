"""Who is calling: customers and console staff, as typed FastAPI dependencies.

Authenticated by default: a route without `CurrentCustomer` or `require_staff`
is public only when it says so with `openapi_extra=PUBLIC` (the authorisation
matrix test refuses any other). Tokens come from `Authorization: Bearer` (API
clients, tests) or the httpOnly `zy_at` cookie the app uses; a cookie-borne
write must also carry `X-Requested-With: zhangyin` (cross-site forms cannot
set it: CSRF defence on top of SameSite=Strict). Every request checks the
session row, so logout, device revocation and idle timeout take effect at once.

    @router.get("/v1/transfers/{transfer_id}")
    def get_transfer(transfer_id: str, customer: CurrentCustomer, db: DbDep) -> ...:
        return service.get_transfer(session, customer.customer_id, transfer_id)  # 404 if not theirs

    RiskReviewer = Annotated[StaffPrincipal, Depends(require_staff("risk.review"))]

    @router.post("/v1/console/holds/{hold_id}/release")
    def release(hold_id: str, staff: RiskReviewer, db: DbDep):
        ...
        audit(session, staff, "hold.release", f"hold:{hold_id}", {...})
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from zhangyin.clock import utcnow
from zhangyin.config import Settings
from zhangyin.identity import service, staff
from zhangyin.identity.errors import (
    CsrfRejected,
    Forbidden,
    ReauthenticationRequired,
    TokenInvalid,
    Unauthenticated,
)
from zhangyin.identity.policy import IdentityPolicy, default_policy
from zhangyin.identity.ratelimit import RateLimiter, make_limiter
from zhangyin.identity.tokens import AccessClaims, TokenSigner

__all__ = [
    "PUBLIC",
    "CurrentCustomer",
    "CurrentStaff",
    "CustomerPrincipal",
    "StaffPrincipal",
    "audit",
    "require_customer",
    "require_staff",
]

ACCESS_COOKIE = "zy_at"
REFRESH_COOKIE = "zy_rt"
CSRF_HEADER = "x-requested-with"
CSRF_VALUE = "zhangyin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Mark a route public: `@router.post(..., openapi_extra=PUBLIC)`.
PUBLIC: dict[str, Any] = {"x-zhangyin-public": True}

audit = staff.audit


@dataclass(frozen=True)
class CustomerPrincipal:
    customer_id: str
    session_id: str
    device_id: str | None
    auth_methods: tuple[str, ...]
    #: When this session's login happened (refreshes do not move it).
    authenticated_at: datetime | None = None

    def require_recent_login(self, minutes: int = 10) -> None:
        """Refuse sensitive changes (new passkey, authenticator) on a session logged in long ago."""
        if self.authenticated_at is None or utcnow() - self.authenticated_at > timedelta(
            minutes=minutes
        ):
            raise ReauthenticationRequired()


@dataclass(frozen=True)
class StaffPrincipal:
    staff_id: str
    session_id: str
    roles: tuple[str, ...]
    permissions: frozenset[str]

    def can(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions


_customer_bearer = HTTPBearer(
    auto_error=False, scheme_name="CustomerBearer", description="Customer access token"
)
_customer_cookie = APIKeyCookie(
    name=ACCESS_COOKIE, auto_error=False, scheme_name="CustomerCookie", description="App cookie"
)
_staff_bearer = HTTPBearer(
    auto_error=False, scheme_name="StaffBearer", description="Console staff access token"
)


# --------------------------------------------------------------------------- app-scoped helpers


def _state(request: Request, name: str, make: Callable[[], Any]) -> Any:
    value = getattr(request.app.state, name, None)
    if value is None:
        value = make()
        setattr(request.app.state, name, value)
    return value


def get_settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_policy(request: Request) -> IdentityPolicy:
    policy: IdentityPolicy = _state(request, "identity_policy", default_policy)
    return policy


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = _state(
        request, "identity_limiter", lambda: make_limiter(get_settings_of(request).redis_url)
    )
    return limiter


def get_signer(request: Request) -> TokenSigner:
    signer: TokenSigner = _state(
        request,
        "identity_signer",
        lambda: TokenSigner(
            get_settings_of(request).resolved_secret_key(),
            get_settings_of(request).previous_secret_key_list(),
        ),
    )
    return signer


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _policy_dependency(request: Request) -> IdentityPolicy:
    """Async on purpose: no I/O, so FastAPI runs it on the event loop, not in a threadpool hop."""
    return get_policy(request)


async def _limiter_dependency(request: Request) -> RateLimiter:
    """Async on purpose, as `_policy_dependency` (building the client connects nowhere)."""
    return get_limiter(request)


PolicyDep = Annotated[IdentityPolicy, Depends(_policy_dependency)]
LimiterDep = Annotated[RateLimiter, Depends(_limiter_dependency)]


def access_token_for(request: Request, grant: service.SessionGrant) -> tuple[str, int]:
    policy = get_policy(request)
    ttl = timedelta(minutes=policy.access_token_minutes)
    token = get_signer(request).issue(
        AccessClaims(
            kind=grant.kind,
            subject_id=grant.subject_id,
            session_id=grant.session_id,
            device_id=grant.device_id,
            auth_methods=grant.auth_methods,
        ),
        ttl,
    )
    return token, int(ttl.total_seconds())


def set_session_cookies(
    request: Request, response: Response, access_token: str, refresh_token: str, ttl: int
) -> None:
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(
        ACCESS_COOKIE, access_token, max_age=ttl, httponly=True, secure=secure, samesite="strict"
    )
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=get_policy(request).session_max_hours * 3600,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/v1/sessions",
    )


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(ACCESS_COOKIE)
    response.delete_cookie(REFRESH_COOKIE, path="/v1/sessions")


# --------------------------------------------------------------------------- dependencies


def _token(
    request: Request, bearer: HTTPAuthorizationCredentials | None, cookie: str | None
) -> str:
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    if cookie:
        if (
            request.method not in SAFE_METHODS
            and request.headers.get(CSRF_HEADER, "").lower() != CSRF_VALUE
        ):
            raise CsrfRejected()
        return cookie
    raise Unauthenticated()


def _claims(request: Request, token: str) -> AccessClaims:
    if len(token) > 4096:
        raise TokenInvalid()
    return get_signer(request).decode(token)


def require_customer(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_customer_bearer)],
    cookie: Annotated[str | None, Depends(_customer_cookie)],
) -> CustomerPrincipal:
    """Dependency: a logged-in customer with a live session."""
    claims = _claims(request, _token(request, bearer, cookie))
    if claims.kind != "customer":
        raise Forbidden()
    policy = get_policy(request)
    view = request.app.state.db.run(
        lambda s: service.check_session(s, claims.session_id, "customer", claims.subject_id, policy)
    )
    return CustomerPrincipal(
        customer_id=view.subject_id,
        session_id=view.id,
        device_id=view.device_id,
        auth_methods=view.auth_methods,
        authenticated_at=view.authenticated_at,
    )


CurrentCustomer = Annotated[CustomerPrincipal, Depends(require_customer)]


def _staff_principal(
    request: Request, bearer: HTTPAuthorizationCredentials | None
) -> StaffPrincipal:
    if bearer is None or not bearer.credentials:
        raise Unauthenticated()
    claims = _claims(request, bearer.credentials)
    if claims.kind != "staff":
        raise Forbidden()
    policy = get_policy(request)

    def work(session: Any) -> StaffPrincipal:
        view = service.check_session(session, claims.session_id, "staff", claims.subject_id, policy)
        roles = staff.staff_roles(session, view.subject_id)
        if roles is None:
            raise TokenInvalid()
        return StaffPrincipal(
            staff_id=view.subject_id,
            session_id=view.id,
            roles=roles,
            permissions=frozenset(staff.permissions_of(session, roles)),
        )

    principal: StaffPrincipal = request.app.state.db.run(work)
    return principal


def require_staff(permission: str) -> Callable[..., StaffPrincipal]:
    """Dependency factory: console staff holding `permission` (by the role map in data)."""

    def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_staff_bearer)],
    ) -> StaffPrincipal:
        principal = _staff_principal(request, bearer)
        if not principal.can(permission):
            raise Forbidden()
        return principal

    dependency.__name__ = f"require_staff_{permission.replace('.', '_')}"
    return dependency


def require_any_staff(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_staff_bearer)],
) -> StaffPrincipal:
    """Dependency: any logged-in staff member (e.g. to log out)."""
    return _staff_principal(request, bearer)


CurrentStaff = Annotated[StaffPrincipal, Depends(require_any_staff)]
