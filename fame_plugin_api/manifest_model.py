"""The plugin manifest's pydantic model: the one declaration of its schema.

Imported on first need (see :mod:`fame_plugin_api.manifest`): for the JSON schema, and to validate
(and word the errors of) a manifest the light check does not take as it is.
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)

from fame_plugin_api import manifest
from fame_plugin_api.manifest import SCHEMA_VERSION


class PluginManifest(BaseModel):
    __doc__ = manifest.PluginManifest.__doc__  # the light object's: the schema's description

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    name: StrictStr
    version: StrictStr
    description: StrictStr
    intents: dict[StrictStr, tuple[StrictStr, ...]] = Field(min_length=1)
    keywords: dict[StrictStr, tuple[StrictStr, ...]] = Field(default_factory=dict)
    patterns: dict[StrictStr, tuple[StrictStr, ...]] = Field(default_factory=dict)
    needs_network: StrictBool = False
    admin_only: StrictBool = False
    dangerous: StrictBool = False
    capability: StrictStr | None = None
    timeout_seconds: StrictFloat | StrictInt | None = None
    priority: StrictInt = 0

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return manifest.check_name(value)

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return manifest.check_version(value)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        return manifest.check_description(value)

    @field_validator("intents")
    @classmethod
    def _known_intents(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return manifest.check_intents(value)

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return manifest.check_patterns(value)

    @field_validator("timeout_seconds")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        return manifest.check_timeout(value)
