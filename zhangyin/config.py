"""Settings, read once from environment variables (and `.env` when present).

The embedded default is a SQLite file under ./var so that `make run` needs nothing
installed. The secret key is never a constant in the code: when
`ZHANGYIN_SECRET_KEY` is unset, one is generated into ./var on first use.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default=f"sqlite:///{VAR_DIR / 'zhangyin.db'}", validation_alias="DATABASE_URL"
    )
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    nats_url: str | None = Field(default=None, validation_alias="NATS_URL")
    secret_key: str | None = Field(default=None, validation_alias="ZHANGYIN_SECRET_KEY")
    #: Comma-separated secret keys rotated out: access tokens they signed stay valid until expiry.
    previous_secret_keys: str = Field(default="", validation_alias="ZHANGYIN_PREVIOUS_SECRET_KEYS")
    service_token: str | None = Field(default=None, validation_alias="ZHANGYIN_SERVICE_TOKEN")
    demo: bool = Field(default=False, validation_alias="ZHANGYIN_DEMO")
    port: int = Field(default=8000, validation_alias="PORT")
    host: str = Field(default="127.0.0.1", validation_alias="HOST")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    #: How long a two-phase hold lives before the expiry job voids it.
    hold_timeout_seconds: int = Field(
        default=7 * 24 * 3600, validation_alias="HOLD_TIMEOUT_SECONDS"
    )
    #: Six-digit bank identification prefix of account numbers this bank issues.
    account_number_prefix: str = Field(default="621688", validation_alias="ACCOUNT_NUMBER_PREFIX")
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = Field(default=1_000_000, validation_alias="MAX_BODY_BYTES")

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once into ./var/secret_key."""
        if self.secret_key:
            return self.secret_key
        path = VAR_DIR / "secret_key"
        if not path.exists():
            VAR_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def previous_secret_key_list(self) -> list[str]:
        """The rotated-out keys, newest first as configured, blanks dropped."""
        return [key.strip() for key in self.previous_secret_keys.split(",") if key.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
