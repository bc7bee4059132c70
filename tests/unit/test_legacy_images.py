"""Legacy and images: attachments described by the vision role, pictures drawn when the model asks."""

from __future__ import annotations

from switchboard.core.errors import ModelUnavailable
from switchboard.core.wire import (
    Activation,
    AttachmentRef,
    ImageResult,
    Outcome,
    Trigger,
    VisionLabel,
    VisionResult,
)
from switchboard.planner.callsystems.legacy import IMAGINE_HINT, NO_IMAGE_ROLE, Legacy
from tests.support.memory_context import MemoryContext


def image(filename: str, sha: str = "a" * 64) -> AttachmentRef:
    return AttachmentRef(filename=filename, content_type="image/png", size=10, sha256=sha, media="image",
                         width=640, height=480)


def activation(*attachments: AttachmentRef, content: str = "what is this?") -> Activation:
    return Activation(id="10", trigger=Trigger.MENTION, channel_id="c", message_id="10", author_id="alice",
                      author_name="alice", content=content, attachments=attachments)


def seen(*labels: tuple[str, float]) -> VisionResult:
    return VisionResult(labels=tuple(VisionLabel(label=name, score=score) for name, score in labels),
                        model="efficientnet-lite0")


def picture(sha: str = "f" * 64) -> ImageResult:
    return ImageResult(images=(AttachmentRef(filename="image-1.png", content_type="image/png", size=99, sha256=sha,
                                             media="image"),), model="fake-images")


async def test_the_prompt_says_what_each_attached_image_shows() -> None:
    ctx = MemoryContext(activation(image("cat.png"), image("dog.png", "b" * 64)), [], ["a cat and a dog"],
                        sights={"cat.png": seen(("tabby cat", 0.87), ("lynx", 0.05)), "dog.png": seen(("beagle", 0.6))})
    reply = await Legacy().activate(ctx)
    assert reply.text == "a cat and a dog"
    asked = ctx.prompts[0][-1].content
    assert "[image cat.png, 640×480: it shows tabby cat (87%), lynx (5%)]" in asked
    assert "[image dog.png, 640×480: it shows beagle (60%)]" in asked
    assert sorted(ctx.described) == ["cat.png", "dog.png"]


async def test_without_a_vision_model_images_are_named_and_the_answer_still_comes() -> None:
    ctx = MemoryContext(activation(image("cat.png")), [], ["I can't see it, but hi"])
    reply = await Legacy().activate(ctx)
    assert reply.outcome == Outcome.REPLIED and reply.text == "I can't see it, but hi"
    assert ctx.described == ["cat.png"]  # it was asked, and said it is not configured
    assert ctx.prompts[0][-1].content.endswith("[image cat.png, 640×480]")


async def test_one_failing_description_falls_back_for_that_image_only() -> None:
    ctx = MemoryContext(activation(image("cat.png"), image("dog.png", "b" * 64)), [], ["ok"],
                        sights={"cat.png": ModelUnavailable("vision replica down"), "dog.png": seen(("beagle", 0.6))})
    await Legacy().activate(ctx)
    asked = ctx.prompts[0][-1].content
    assert "[image cat.png, 640×480]" in asked and "it shows beagle (60%)" in asked


async def test_the_model_is_told_how_to_ask_for_a_picture() -> None:
    ctx = MemoryContext(activation(content="hi"), [], ["hello"])
    await Legacy().activate(ctx)
    assert IMAGINE_HINT in ctx.prompts[0][0].content and ctx.drawn == []


async def test_an_imagine_line_becomes_an_attached_picture_and_leaves_the_text() -> None:
    ctx = MemoryContext(activation(content="draw me a fox"), [],
                        ["Here is your fox!\n[imagine: a red fox in snow]\nEnjoy."], pictures=[picture()])
    reply = await Legacy().activate(ctx)
    assert ctx.drawn == ["a red fox in snow"]
    assert reply.text == "Here is your fox!\n\nEnjoy." and "[imagine" not in reply.text
    assert [ref.sha256 for ref in reply.images] == ["f" * 64]


async def test_at_most_one_picture_per_reply() -> None:
    ctx = MemoryContext(activation(content="two foxes"), [],
                        ["[imagine: a fox] and [imagine: another fox]"], pictures=[picture(), picture("e" * 64)])
    reply = await Legacy().activate(ctx)
    assert ctx.drawn == ["a fox"] and len(reply.images) == 1
    assert "imagine" not in reply.text and reply.text == "and"


async def test_a_picture_alone_gets_a_caption() -> None:
    ctx = MemoryContext(activation(content="draw"), [], ["[imagine: a lighthouse at dusk]"], pictures=[picture()])
    reply = await Legacy().activate(ctx)
    assert reply.text == "🎨 a lighthouse at dusk" and len(reply.images) == 1


async def test_without_an_image_model_the_reply_says_so_instead_of_the_marker() -> None:
    ctx = MemoryContext(activation(content="draw a fox"), [], ["Sure!\n[imagine: a fox]"])
    reply = await Legacy().activate(ctx)
    assert reply.text == f"Sure!\n\n{NO_IMAGE_ROLE}" and reply.images == ()
    assert reply.outcome == Outcome.REPLIED


async def test_a_failing_image_model_keeps_the_words() -> None:
    ctx = MemoryContext(activation(content="draw a fox"), [], ["[imagine: a fox]"],
                        pictures=[ModelUnavailable("provider down")])
    reply = await Legacy().activate(ctx)
    assert reply.text == "(I could not draw this: `model_unavailable`.)" and reply.images == ()

