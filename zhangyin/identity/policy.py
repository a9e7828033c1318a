"""The security knobs of identity, from environment variables (ZHANGYIN_ prefix).

Defaults are what a bank's reviewer expects; a deployment tightens them without
a code change (e.g. `ZHANGYIN_LOCKOUT_THRESHOLD=3`).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class IdentityPolicy(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHANGYIN_", extra="ignore")

    #: Wrong passwords or codes in a row before the customer is locked.
    lockout_threshold: int = 5
    #: Cooling period after which a locked customer may try again (the console unlocks sooner).
    lockout_minutes: int = 30
    access_token_minutes: int = 15
    #: A session with no request for this long is over (idle timeout).
    idle_timeout_minutes: int = 15
    #: The longest a session lives, however active.
    session_max_hours: int = 24 * 7
    sms_code_minutes: int = 5
    challenge_minutes: int = 5
    #: Wrong tries of one SMS code or one challenge before it is dead.
    code_attempts: int = 5
    #: Seconds between two codes to one phone (SMS bombing).
    sms_cooldown_seconds: int = 60
    sms_per_phone_per_hour: int = 5
    sms_per_phone_per_day: int = 10
    sms_per_ip_per_hour: int = 30
    login_per_phone_per_15min: int = 10
    login_per_ip_per_minute: int = 60
    privacy_policy_version: str = "2026-01"
    #: Refuse console logins of staff without an authenticator (set in production).
    staff_totp_required: bool = False
    #: Origins and relying party of passkeys (WebAuthn).
    webauthn_rp_id: str = "localhost"
    webauthn_rp_name: str = "掌银"
    webauthn_origins: str = "http://localhost:8000,http://localhost:5173"

    @property
    def origins(self) -> list[str]:
        return [o.strip() for o in self.webauthn_origins.split(",") if o.strip()]


@lru_cache(maxsize=1)
def default_policy() -> IdentityPolicy:
    return IdentityPolicy()
