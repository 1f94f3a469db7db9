"""Settings from TRANSIT_* environment variables; built once per entry point and passed down."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="TRANSIT_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///transit.db",
        description="SQLAlchemy URL; SQLite (a file) is the embedded default, PostgreSQL is production.",
    )
    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883", description="The MQTT broker of the pings.")
    mqtt_topic_prefix: str = Field(default="transit/v1")
