"""Declarations of the tools backed by model roles, and what a tools worker makes of their names."""

from __future__ import annotations

import pytest

from switchboard.core.errors import ConfigError, InvalidToolArguments
from switchboard.core.role_tools import DESCRIBE_IMAGE, IMAGINE, role_request
from switchboard.core.wire import Activation, AttachmentRef, ImageRequest, Trigger, VisionRequest
from switchboard.tools.registry import Tool, ToolRegistry


def attached(*names: str) -> Activation:
    refs = tuple(AttachmentRef(filename=name, content_type="image/png" if name.endswith(".png") else "text/plain",
                               size=1, sha256=f"{i:064x}", media="image" if name.endswith(".png") else "text")
                 for i, name in enumerate(names))
    return Activation(id="1", trigger=Trigger.MENTION, channel_id="c", message_id="1", author_id="a",
                      author_name="a", content="x", attachments=refs)


def test_an_image_is_chosen_by_filename_or_by_position_among_the_images() -> None:
    activation = attached("notes.txt", "cat.png", "dog.png")
    by_name = role_request(DESCRIBE_IMAGE, {"image": "dog.png"}, activation)
    by_position = role_request(DESCRIBE_IMAGE, {"image": 1, "top_k": 5}, activation)
    first = role_request(DESCRIBE_IMAGE, {}, activation)
    assert isinstance(by_name, VisionRequest) and by_name.image.filename == "dog.png"
    assert isinstance(by_position, VisionRequest) and (by_position.image.filename, by_position.top_k) == ("dog.png", 5)
    assert isinstance(first, VisionRequest) and first.image.filename == "cat.png"  # text files do not count
    with pytest.raises(InvalidToolArguments, match=r"no attached image 'notes\.txt'"):
        role_request(DESCRIBE_IMAGE, {"image": "notes.txt"}, activation)


def test_imagine_sizes_become_the_image_request() -> None:
    request = role_request(IMAGINE, {"prompt": "a fox", "size": "1024x1024"}, attached())
    assert isinstance(request, ImageRequest)
    assert (request.width, request.height, request.prompt) == (1024, 1024, "a fox")


def test_a_tools_worker_cannot_take_a_role_tool_name() -> None:
    impostor = Tool(name="imagine", description="x", parameters={"type": "object"}, run=lambda: None)
    with pytest.raises(ConfigError, match="model role"):
        ToolRegistry([impostor], enabled=())
