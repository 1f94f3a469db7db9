"""Settings from TRANSIT_* environment variables; built once per entry point and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from transit.errors import BadParameter


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="TRANSIT_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///transit.db",
        description="SQLAlchemy URL; SQLite (a file) is the embedded default, PostgreSQL is production.",
    )
    mqtt_url: str | None = Field(
        default=None, description="The MQTT broker of the pings; unset, `transit demo` embeds one (amqtt)."
    )

    def broker_url(self) -> str:
        """TRANSIT_MQTT_URL, or a clear error naming it when a command needs a broker and none is set."""
        if not self.mqtt_url:
            raise BadParameter("TRANSIT_MQTT_URL is not set; e.g. TRANSIT_MQTT_URL=mqtt://127.0.0.1:1883")
        return self.mqtt_url

    mqtt_topic_prefix: str = Field(default="transit/v1")
    ledger_key_file: Path = Field(
        default=Path("transit-ledger.key"),
        description="The ledger's Ed25519 signing key (PEM), outside the database; created on first use.",
    )
    smtp_url: str | None = Field(
        default=None, description="The SMTP server notices are mailed through, e.g. smtp://127.0.0.1:25."
    )
    smtp_from: str = Field(default="transit@localhost", description="The sender address of mailed notices.")
    sms_url: str | None = Field(
        default=None, description="An SMS gateway taking a POST of JSON {to, text}, for notices by SMS."
    )
    ticket_catalog: Path | None = Field(
        default=None,
        description="The 109 ticket catalog (TOML file); default: the one shipped in transit/tickets",
    )
