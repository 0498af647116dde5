"""Settings, declared once: name, default, help. Read from environment variables (TRACKER_*) and
an optional TOML file (TRACKER_CONFIG, default ./tracker.toml), with defaults that work offline.
Read where the app or CLI starts and passed down; nothing below reads the environment.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource
from pydantic_settings import SettingsError as _PydanticSettingsError

from .setting_errors import describe, read_toml


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "facility-tracker"


class Settings(BaseSettings):
    """The tracker's settings, from arguments, TRACKER_* environment variables and tracker.toml, in that order of
    precedence."""

    model_config = SettingsConfigDict(env_prefix="TRACKER_", extra="ignore")

    database: str = Field(
        default_factory=lambda: str(_data_home() / "registry.gpkg"),
        description="Registry location: a .gpkg path (embedded default) or a postgresql:// URL (team mode).")
    data_dir: Path = Field(default_factory=_data_home,
                           description="Where generated files live (vendored map scripts, imagery cache).")
    seed: bool = Field(True, description="Load the seed registry into an empty store on first run.")
    offline: bool = Field(False, description="Never offer online tile layers; use the offline basemap only.")
    actor: str = Field(default_factory=lambda: os.environ.get("USER") or "analyst",
                       description="Name recorded in the edit history.")
    max_import_mb: int = Field(200, gt=0, description="Largest GeoJSON file accepted for import, in MB.")
    # Imagery services. None = the public service; a URL points at a mirror or a local test server.
    wayback_config_url: str | None = Field(None, description="Wayback release catalogue (waybackconfig.json).")
    wayback_service_root: str | None = Field(None, description="Wayback MapServer root (tilemap requests).")
    wayback_tile_url: str | None = Field(
        None, description="Wayback tile template with {s}, {release}, {z}, {y}, {x} (shown by the browser only).")
    wayback_subdomains: list[str] | None = Field(None, description="Values for {s} in the Wayback tile template.")
    wayback_metadata_url: str | None = Field(
        None, description="Root of a mirror of the Wayback metadata services (capture dates): each release's "
                          "service name from the catalogue is appended, e.g. <root>/World_Imagery_Metadata_2024_r07/"
                          "MapServer.")
    eox_tile_url: str | None = Field(
        None, description="Sentinel-2 cloudless tile template with {year}, {z}, {x}, {y} for the server's reads and "
                          "status probe (a mirror or a test server); maps in the browser use EOX's own service.")
    stac_url: str | None = Field(None, description="STAC API searched for Sentinel-2 L2A scenes (Earth Search).")
    stac_asset_hosts: list[str] | None = Field(
        None, description="Hosts (host or host:port) Sentinel-2 image files may be read from.")
    stac_provider: Literal["earth-search", "planetary-computer"] = Field(
        "earth-search", description="STAC catalogue of Sentinel-2 scenes: earth-search or planetary-computer "
                                    "(needs the planetary-computer extra; its files are read with signed URLs).")
    stac_collection: str | None = Field(
        None, description="STAC collection searched: sentinel-2-c1-l2a on Earth Search (the legacy sentinel-2-l2a "
                          "is still readable), sentinel-2-l2a on Planetary Computer.")
    stac_token_url: str | None = Field(
        None, description="Planetary Computer SAS token endpoint (a mirror or a test server).")
    stac_asset_mirrors: dict[str, str] | None = Field(
        None, description="JSON object: Sentinel-2 file host as the catalogue names it -> base URL of a mirror "
                          "serving the same paths.")
    stac_max_items: int = Field(5000, gt=0, le=100_000,
                                description="Most Sentinel-2 scenes one search lists; the rest are counted and "
                                            "said, never dropped silently.")
    imagery_allow_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts (host or host:port) exempt from the https-and-public-address rule, e.g. a local mirror.")
    request_timeout: float = Field(10.0, gt=0, le=120,
                                   description="Longest wait for one imagery request, retries included, in seconds.")
    max_image_mb: int = Field(500, gt=0, description="Largest GeoTIFF/COG accepted for upload, in MB "
                                                     "(the server's upload limit applies too).")
    max_session_upload_mb: int = Field(
        400, gt=0, description="Most uploaded data one browser session may hold at once, in MB (uploads are "
                               "kept in memory until imported or refused).")
    max_uploads_mb: int = Field(600, gt=0, description="Most uploaded data the server holds at once, all "
                                                       "sessions together, in MB.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "WARNING", description="Log level of the project's modules (service failures and slow requests "
                               "are WARNING, retries INFO), written to stderr.")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("*", mode="after")
    @classmethod
    def _utf8(cls, value: object) -> object:
        # a non-UTF-8 byte in the environment arrives as a lone surrogate, which no file or database can store
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str | Path) and re.search("[\ud800-\udfff]", str(text)):
                raise ValueError("is not valid UTF-8 text")
        return value

    @field_validator("database", mode="after")
    @classmethod
    def _registry_location(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty")
        if "://" not in value and Path(value).expanduser().is_dir():
            raise ValueError("is a directory, not a registry file")
        return value

    @field_validator("data_dir", mode="after")
    @classmethod
    def _data_folder(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError("exists and is not a folder")
        return value

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        """pydantic-settings hook: arguments first, then the environment, then the TOML file named by TRACKER_CONFIG
        (tracker.toml by default)."""
        toml_file = config_file()
        read_toml(toml_file)  # a broken file is a BadSetting naming it, before pydantic-settings reads it
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))


def config_file() -> str:
    """The settings file: TRACKER_CONFIG, else tracker.toml in the working folder."""
    return os.environ.get("TRACKER_CONFIG", "tracker.toml")


def load_settings(**overrides) -> Settings:
    """The settings, with the overrides that are not None (unset command-line options) applied on top.

    A value that cannot be used raises BadSetting: one line naming the setting as the user gave it
    (TRACKER_* variable, key in the TOML file, or command-line option) and what is expected."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except (ValidationError, _PydanticSettingsError) as err:
        raise describe(err, Settings.model_fields, config_file(), given) from None
