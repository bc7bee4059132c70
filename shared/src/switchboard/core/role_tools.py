"""Tools backed by model roles: `imagine` (the image role) and `describe_image` (the vision role).

They are declared here rather than by a tools worker because they run in the planner as role steps
(`image:N`, `vision:N`): a tools worker must not block waiting on the inference queue. Otherwise they
are tools like any other: denied unless both the callsystem and the channel allow them, arguments
checked against the JSON Schema before a step exists (`ToolCatalog.check`), shown to a model by
`ToolCatalog.specs`. `ctx.tool(name, arguments)` returns their typed result (`ImageResult`,
`VisionResult`); `model_view` turns it into what a model reads and the images a reply attaches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from switchboard.core.errors import InvalidToolArguments
from switchboard.core.wire import Activation, AttachmentRef, ImageRequest, ImageResult, VisionRequest, VisionResult

IMAGE_SIZES: dict[str, tuple[int, int]] = {"512x512": (512, 512), "768x768": (768, 768), "1024x1024": (1024, 1024)}


@dataclass(frozen=True)
class RoleTool:
    name: str
    role: Literal["image", "vision"]
    description: str
    parameters: dict[str, Any]

    def declaration(self) -> str:
        """The declaration as a tools worker would publish it (JSON), for `ToolCatalog`."""
        return json.dumps({"name": self.name, "description": self.description, "parameters": self.parameters,
                           "side_effects": False, "role": self.role}, sort_keys=True)


IMAGINE = RoleTool(
    name="imagine", role="image",
    description="Draw a picture from a text description; the picture is attached to your reply.",
    parameters={"type": "object", "additionalProperties": False, "required": ["prompt"], "properties": {
        "prompt": {"type": "string", "minLength": 1, "maxLength": 2000, "description": "what to draw"},
        "size": {"enum": sorted(IMAGE_SIZES), "description": "width x height in pixels (default 512x512)"}}},
)
DESCRIBE_IMAGE = RoleTool(
    name="describe_image", role="vision",
    description="Say what an image attached to the conversation shows (labels with confidence).",
    parameters={"type": "object", "additionalProperties": False, "properties": {
        "image": {"type": ["string", "integer"], "minLength": 1, "maxLength": 256, "minimum": 0, "maximum": 9,
                  "description": "the image's filename, or its position among the attached images (0 first); "
                                 "default: the first image"},
        "top_k": {"type": "integer", "minimum": 1, "maximum": 10}}},
)
ROLE_TOOLS: dict[str, RoleTool] = {tool.name: tool for tool in (IMAGINE, DESCRIBE_IMAGE)}


def images_of(activation: Activation) -> list[AttachmentRef]:
    return [ref for ref in activation.attachments if ref.media == "image"]


def offered(name: str, activation: Activation) -> bool:
    """Whether to show a model this tool for this activation (describing needs an image to describe)."""
    return name != DESCRIBE_IMAGE.name or bool(images_of(activation))


def role_request(tool: RoleTool, arguments: dict[str, Any], activation: Activation) -> ImageRequest | VisionRequest:
    """The role step for schema-valid `arguments`; raises `InvalidToolArguments` for an image not attached."""
    if tool.role == "image":
        width, height = IMAGE_SIZES[arguments.get("size", "512x512")]
        return ImageRequest(prompt=arguments["prompt"], width=width, height=height)
    return VisionRequest(image=_attached_image(arguments.get("image", 0), activation),
                         top_k=arguments.get("top_k", 3))


def _attached_image(which: str | int, activation: Activation) -> AttachmentRef:
    images = images_of(activation)
    found = ([ref for ref in images if ref.filename == which] if isinstance(which, str)
             else images[which:which + 1])
    if not found:
        attached = ", ".join(f"{i}: {ref.filename}" for i, ref in enumerate(images)) or "none"
        raise InvalidToolArguments(f"describe_image: no attached image {which!r} (attached images: {attached})")
    return found[0]


def model_view(output: Any) -> tuple[Any, tuple[AttachmentRef, ...]]:
    """What a model reads of a tool's output (JSON data), and the images its reply should attach."""
    if isinstance(output, ImageResult):
        view: dict[str, Any] = {"images": len(output.images), "note": "attached to the reply"}
        if output.revised_prompt:
            view["revised_prompt"] = output.revised_prompt
        return view, output.images
    if isinstance(output, VisionResult):
        return {"shows": output.describe(), "model": output.model}, ()
    return output, ()
