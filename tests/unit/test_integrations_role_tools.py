"""Integrations and the tools backed by model roles: pictures reach the reply, the model reads JSON."""

from __future__ import annotations

import json
from typing import Any

from switchboard.core.wire import (
    Activation,
    AttachmentRef,
    ImageResult,
    InferenceResult,
    ModelToolCall,
    Trigger,
    VisionLabel,
    VisionResult,
)
from switchboard.planner.callsystems.integrations import MAX_REPLY_IMAGES, Integrations
from tests.support.memory_context import MemoryContext


def asks(*calls: tuple[str, dict[str, Any]]) -> InferenceResult:
    return InferenceResult(text="", finish_reason="tool_calls", model="scripted",
                           tool_calls=tuple(ModelToolCall(id=f"call-{i}", name=name, arguments=args)
                                            for i, (name, args) in enumerate(calls)))


def ref(filename: str, sha: str) -> AttachmentRef:
    return AttachmentRef(filename=filename, content_type="image/png", size=10, sha256=sha, media="image")


def activation(*attachments: AttachmentRef) -> Activation:
    return Activation(id="10", trigger=Trigger.MENTION, channel_id="c", message_id="10", author_id="alice",
                      author_name="alice", content="draw a fox, and what is in my photo?", attachments=attachments)


def drawn(sha: str) -> ImageResult:
    return ImageResult(images=(ref("image-1.png", sha),), model="fake-images", revised_prompt="a red fox, snowy")


def test_the_role_tools_and_sleep_are_among_what_integrations_may_call() -> None:
    assert {"imagine", "describe_image", "sleep"} <= Integrations.tools


async def test_a_picture_drawn_by_the_model_is_attached_and_the_model_reads_json() -> None:
    photo = ref("photo.png", "p" * 64)
    ctx = MemoryContext(activation(photo), [], [
        asks(("imagine", {"prompt": "a red fox"}), ("describe_image", {"image": "photo.png"})),
        "Here is a fox; your photo shows a beagle."],
        pictures=[drawn("f" * 64)], sights={"photo.png": VisionResult(
            labels=(VisionLabel(label="beagle", score=0.9),), model="efficientnet-lite0")})
    reply = await Integrations().activate(ctx)
    assert reply.text == "Here is a fox; your photo shows a beagle."
    assert [image.sha256 for image in reply.images] == ["f" * 64]
    imagined, described = (json.loads(m.content) for m in ctx.prompts[1][-2:])
    assert imagined == {"images": 1, "note": "attached to the reply", "revised_prompt": "a red fox, snowy"}
    assert described == {"shows": "beagle (90%)", "model": "efficientnet-lite0"}


async def test_without_an_image_model_the_model_reads_role_not_configured() -> None:
    ctx = MemoryContext(activation(), [], [asks(("imagine", {"prompt": "a fox"})), "I cannot draw here."])
    reply = await Integrations().activate(ctx)
    assert reply.text == "I cannot draw here." and reply.images == ()
    result = json.loads(ctx.prompts[1][-1].content)
    assert result["error"] == "role_not_configured" and "image" in result["message"]


async def test_pictures_attached_to_one_reply_are_bounded() -> None:
    many = MAX_REPLY_IMAGES + 2
    ctx = MemoryContext(activation(), [], [asks(*[("imagine", {"prompt": f"fox {i}"}) for i in range(many)]), "foxes"],
                        pictures=[drawn(f"{i:064x}") for i in range(many)])
    reply = await Integrations().activate(ctx)
    assert len(ctx.drawn) == many and len(reply.images) == MAX_REPLY_IMAGES
