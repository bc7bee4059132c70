"""A whole stack whose chat role is the local fake of an OpenAI-compatible API (`FakeChatApi`), so a test
scripts what the model says, tool calls included, and reads every prompt it was sent.

The session stack of `conftest.py` runs SmolLM2, which answers in words only; tests of tool calling use
this one, started once per test module (`start_fake_chat_stack` in a module-scoped fixture).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from switchboard.devstack.stack import Stack, StackConfig
from tests.e2e.conftest import IMAGE_API_KEY
from tests.support.fake_chat_api import MODEL, FakeChatApi
from tests.support.fake_images_api import FakeImagesApi

CHAT_API_KEY = "sk-e2e-chat-key"
SLEEP_TTL_S = 3600


@contextmanager
def start_fake_chat_stack(run_dir: Path, chat_api: FakeChatApi, images_api: FakeImagesApi,
                          inference_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Every service as a process; the tools worker also enables `sleep`; images from `images_api`."""
    config = StackConfig(run_dir=run_dir, service_env={
        "gateway": {"SWITCHBOARD_USER_RATE": json.dumps({"capacity": 1000, "per_seconds": 1})},
        "tools": {"SWITCHBOARD_ENABLED_TOOLS": json.dumps(["calculator", "clock", "sleep"]),
                  "SWITCHBOARD_SLEEP_TTL_S": str(SLEEP_TTL_S)},
        "inference": {
            "SWITCHBOARD_CHAT_BACKEND": "openai", "SWITCHBOARD_CHAT_BASE_URL": chat_api.url,
            "SWITCHBOARD_CHAT_MODEL_NAME": MODEL, "SWITCHBOARD_CHAT_API_KEY": CHAT_API_KEY,
            "SWITCHBOARD_IMAGE_BACKEND": "openai", "SWITCHBOARD_IMAGE_BASE_URL": images_api.url,
            "SWITCHBOARD_IMAGE_API_KEY": IMAGE_API_KEY, **(inference_env or {}),
        },
    })
    stack = Stack(config)
    try:
        stack.start(timeout=240)
        yield stack
    finally:
        stack.stop()
