"""The services' settings classes, and which environment variable names each one reads."""

from __future__ import annotations

import re

from pydantic_settings import BaseSettings

from switchboard.admin.settings import AdminSettings
from switchboard.gateway.settings import GatewaySettings
from switchboard.inference.settings import InferenceSettings
from switchboard.planner.settings import PlannerSettings
from switchboard.tools.settings import ToolsSettings

SETTINGS: dict[str, type[BaseSettings]] = {
    "gateway": GatewaySettings, "planner": PlannerSettings, "tools": ToolsSettings,
    "inference": InferenceSettings, "admin": AdminSettings,
}
# Variables that are not settings: Kubernetes plumbing, the OTLP exporter's, Ray's own, and the variables
# SWITCHBOARD_PROVIDERS points at (`api_key_env`).
NOT_SETTINGS = re.compile(r"^(POD_NAME|POD_NAMESPACE|POD_INDEX|HOME|REDIS_PASSWORD|OTEL_[A-Z_]+|RAY_AUTH_MODE|"
                          r"RAY_AUTH_TOKEN|PROVIDER_[A-Z0-9_]+_API_KEY)$")


def setting_names(settings: type[BaseSettings]) -> set[str]:
    """Every variable name the class reads: env_prefix + field name, and validation aliases."""
    prefix = settings.model_config.get("env_prefix", "")
    names = set()
    for field_name, field in settings.model_fields.items():
        names.add(f"{prefix}{field_name}".upper())
        alias = field.validation_alias
        names.update(str(choice).upper() for choice in getattr(alias, "choices", [alias] if alias else []))
    return names


def stray_variables(component: str, names: set[str]) -> set[str]:
    """Names given to `component` that neither its settings nor anything else it runs reads."""
    known = setting_names(SETTINGS[component])
    return {n for n in names if n not in known and not NOT_SETTINGS.match(n)}
