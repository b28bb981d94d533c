"""Typed settings, read once from the environment (and `.env` in development)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dotenv import load_dotenv
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .redaction import Redactor


class ConfigError(SystemExit):
    """A bad setting: exits the process with one line naming the variable."""


class Settings(BaseSettings):
    """Every setting of the service; `.env.example` documents each one."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)

    APP_ENV: Literal["development", "test", "production"] = "development"
    DEBUG: bool = False
    PORT: int = Field(default=8000, ge=1, le=65535)

    AI_PROVIDER: Literal["azure", "offline"] | None = None
    AZURE_OPENAI_ENDPOINT: str | None = None
    AZURE_OPENAI_API_KEY: SecretStr | None = None
    AZURE_OPENAI_USE_ENTRA_ID: bool = False
    AZURE_OPENAI_API_VERSION: str = "2024-10-21"
    AZURE_OPENAI_DEPLOYMENT: str | None = None
    AZURE_OPENAI_TIMEOUT_S: float = Field(default=20.0, gt=0, le=300)
    AZURE_OPENAI_CONNECT_TIMEOUT_S: float = Field(default=5.0, gt=0, le=60)
    AZURE_OPENAI_MAX_RETRIES: int = Field(default=2, ge=0, le=10)
    AZURE_OPENAI_MAX_TOKENS: int = Field(default=600, ge=50, le=4000)
    AZURE_OPENAI_MAX_CONNECTIONS: int = Field(default=400, ge=1)
    CIRCUIT_BREAKER_FAILURES: int = Field(default=5, ge=1)
    CIRCUIT_BREAKER_COOLDOWN_S: float = Field(default=30.0, gt=0)
    SPEAKING_TEST_MAX_PARALLEL: int = Field(default=3, ge=1, le=8)

    DATABASE_URL: str = "sqlite:///var/ielts-service.db"
    DATABASE_POOL_SIZE: int = Field(default=10, ge=1)
    DATABASE_MAX_OVERFLOW: int = Field(default=20, ge=0)
    DATABASE_CONNECT_TIMEOUT_S: int = Field(default=3, ge=1)
    AUTO_MIGRATE: bool | None = None

    RATELIMIT_STORAGE_URI: str = "memory://"
    RATE_LIMIT_DEFAULT: str = "60/minute;1000/day"
    RATE_LIMIT_UNAUTHENTICATED: str = "20/minute"
    TOKEN_BUDGET_DAILY: int = Field(default=200_000, ge=0)
    TRUSTED_PROXY_HOPS: int = Field(default=0, ge=0, le=5)
    KEY_CACHE_TTL_S: float = Field(default=2.0, ge=0, le=5)
    KEY_ROTATION_GRACE_S: int = Field(default=86_400, ge=0)
    CREATE_DEV_KEY: bool = True

    AUDIT_STORE_CONTENT: bool = True
    AUDIT_INTENT_SWEEP_S: float = Field(default=30.0, gt=0)
    AUDIT_INTENT_STALE_S: float = Field(default=600.0, gt=0)
    AUDIT_SIGNING_KEY_FILE: str = ""  # Ed25519 private key (PEM): `audit checkpoint` signs with it
    AUDIT_VERIFY_KEY_FILE: str = ""  # its public key (PEM): `audit verify` checks checkpoints

    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    LOG_FORMAT: Literal["json", "console"] = "json"
    LOG_FILE: str = "var/log/ielts-service.log"
    LOG_MAX_BYTES: int = Field(default=10 * 1024 * 1024, ge=1024)
    LOG_BACKUP_COUNT: int = Field(default=5, ge=1)

    SENTRY_DSN: SecretStr | None = None
    SENTRY_TRACES_SAMPLE_RATE: float = Field(default=0.0, ge=0, le=1)
    GIT_SHA: str | None = None

    METRICS_TOKEN: SecretStr | None = None
    METRICS_PUBLIC: bool = False
    CORS_ALLOWED_ORIGINS: str = ""
    METRICS_MAX_KEYS: int = Field(default=20, ge=1, le=1000)
    ENABLE_TEST_ROUTES: bool = False

    @field_validator("RATE_LIMIT_DEFAULT", "RATE_LIMIT_UNAUTHENTICATED")
    @classmethod
    def _parsable_limit(cls, value: str) -> str:
        from limits import parse_many  # here: the gunicorn master reads settings, never limits

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit such as '60/minute;1000/day' ({exc})") from None
        return value

    @field_validator("RATELIMIT_STORAGE_URI")
    @classmethod
    def _known_storage(cls, value: str) -> str:
        if not value.startswith(("memory://", "redis://", "rediss://")):
            raise ValueError("must start with memory://, redis:// or rediss://")
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value.removeprefix(prefix)
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _production_is_explicit(self) -> Settings:
        if self.APP_ENV == "production":
            if self.DEBUG:
                raise ValueError("DEBUG: must be false when APP_ENV=production")
            if self.ENABLE_TEST_ROUTES:
                raise ValueError("ENABLE_TEST_ROUTES: must be false when APP_ENV=production")
            if self.AI_PROVIDER is None:
                raise ValueError(
                    "AI_PROVIDER: must be set to azure or offline when APP_ENV=production"
                )
            if not self.METRICS_TOKEN and not self.METRICS_PUBLIC:
                raise ValueError(
                    "METRICS_TOKEN: required when APP_ENV=production "
                    "(or METRICS_PUBLIC=true to serve /metrics to anyone)"
                )
        if self.provider == "azure":
            missing = [
                name
                for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT")
                if not getattr(self, name)
            ]
            if not self.AZURE_OPENAI_API_KEY and not self.AZURE_OPENAI_USE_ENTRA_ID:
                missing.append("AZURE_OPENAI_API_KEY")
            if missing:
                raise ValueError(f"{', '.join(missing)}: required when AI_PROVIDER=azure")
        return self

    @property
    def provider(self) -> Literal["azure", "offline"]:
        """The provider in use: explicit, else Azure when an endpoint is configured."""
        if self.AI_PROVIDER:
            return self.AI_PROVIDER
        return "azure" if self.AZURE_OPENAI_ENDPOINT else "offline"

    @property
    def cors_origins(self) -> frozenset[str]:
        """Origins allowed to call the API from a browser; empty: CORS is off."""
        return frozenset(o.strip() for o in self.CORS_ALLOWED_ORIGINS.split(",") if o.strip())

    @property
    def is_production(self) -> bool:
        return self.APP_ENV == "production"

    @property
    def auto_migrate(self) -> bool:
        """Apply migrations at start: on by default except in production (a separate job)."""
        return (not self.is_production) if self.AUTO_MIGRATE is None else self.AUTO_MIGRATE

    def secret_values(self) -> list[str]:
        """Configured secrets, for log and Sentry redaction (a DSN's key and secret also alone)."""
        secrets = [self.AZURE_OPENAI_API_KEY, self.SENTRY_DSN, self.METRICS_TOKEN]
        values = [s.get_secret_value() for s in secrets if s and s.get_secret_value()]
        if self.SENTRY_DSN:
            dsn = urlsplit(self.SENTRY_DSN.get_secret_value())
            values += [part for part in (dsn.username, dsn.password) if part]
        return values


def load_settings() -> Settings:
    """Read the environment once; a bad value ends the process with one clear line."""
    if Path(".env").is_file():
        load_dotenv(".env", override=False)
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(f"configuration error: {describe_error(exc)}") from None


def describe_error(exc: ValidationError) -> str:
    """One line naming the variable and what is allowed."""
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if not name:
        return message
    if "input" not in first:
        return message
    # The value is shown to help, but a URL may carry a password.
    return f"{name}: {message} (got {Redactor().text(repr(first['input']))})"
