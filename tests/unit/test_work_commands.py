"""Reading the activation an operator names in `/replay`."""

from __future__ import annotations

import pytest

from switchboard.core.errors import ConfigError
from switchboard.gateway.work_commands import activation_id_of


@pytest.mark.parametrize("given", [
    "1234567890123", " 1234567890123 ", "https://discord.com/channels/42/77/1234567890123",
    "https://discord.com/channels/@me/77/1234567890123/",
])
def test_ids_and_message_links_name_the_activation(given: str) -> None:
    assert activation_id_of(given) == "1234567890123"


@pytest.mark.parametrize("given", ["", "hello", "https://example.com/page", "12ab"])
def test_anything_else_is_a_clear_error(given: str) -> None:
    with pytest.raises(ConfigError, match="not an activation id"):
        activation_id_of(given)
