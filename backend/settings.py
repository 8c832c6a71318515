"""Server settings from environment variables (pydantic-settings), injected into routes as a dependency."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from starlette.requests import HTTPConnection
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
MEGABYTE = 1024 * 1024


class Settings(BaseSettings):
    """Every knob of the server. Environment variables use the upper-case field names (`WEIGHTS_DIR`, ...)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    weights_dir: Path = REPO_ROOT / "weights"
    frontend_dir: Path = REPO_ROOT / "frontend"
    # onnxruntime-web's browser runtime, installed by `npm ci` (package.json pins it), for the page's device mode.
    vendor_dir: Path = REPO_ROOT / "node_modules" / "onnxruntime-web" / "dist"
    # Swagger UI, installed by `npm ci` too, for the API's /docs page.
    swagger_ui_dir: Path = REPO_ROOT / "node_modules" / "swagger-ui-dist"
    max_upload_bytes: int = Field(default=10 * MEGABYTE, gt=0)
    max_image_side: int = Field(default=4096, gt=0)
    max_ws_message_bytes: int = Field(default=10 * MEGABYTE, gt=0)
    intra_op_threads: int = Field(default_factory=lambda: os.cpu_count() or 1, gt=0)
    # One run at a time uses every core for that run; more only pays off on a GPU or a many-core host.
    max_concurrent_runs: int = Field(default=1, gt=0)
    # Comma-separated origins; empty means same origin only (no CORS headers at all).
    cors_origins: Annotated[list[str], NoDecode] = []
    api_key: SecretStr | None = None
    rate_limit_per_minute: int = Field(default=0, ge=0)
    log_level: str = "INFO"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_key_is_no_key(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()


def get_settings(connection: HTTPConnection) -> Settings:
    """FastAPI dependency: the settings the running app was created with."""
    return connection.app.state.settings
