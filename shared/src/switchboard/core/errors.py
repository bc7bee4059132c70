"""One error tree for the whole project.

`retryable` and `code` are properties of the class, never guessed from message text. Constructors keep
their arguments in `args` so errors survive pickling by Ray; across Celery and Redis they travel as
`ErrorInfo` (JSON) and come back as the same class through `from_info`.
"""

from __future__ import annotations

from typing import ClassVar


class SwitchboardError(Exception):
    """Root of every error Switchboard raises on purpose."""

    code: ClassVar[str] = "internal_error"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message or self.__class__.__doc__ or self.code

    def __str__(self) -> str:
        return self.message


class ConfigError(SwitchboardError):
    """Settings or plugin configuration is invalid; fix the configuration and restart."""

    code = "config_error"


class LimitReached(ConfigError):
    """A tenant's stored things reached their cap (personas of a guild, a user's memory fields); the message
    names the limit. Nothing was written."""

    code = "limit_reached"


class DeadLettered(SwitchboardError):
    """An activation was delivered to planners too many times without finishing; it is in the dead-letter stream."""

    code = "dead_lettered"


class InvalidPayload(SwitchboardError):
    """A message on the wire did not match its schema."""

    code = "invalid_payload"

    def __init__(self, model: str, detail: str) -> None:
        super().__init__(f"invalid {model} payload: {detail}")
        self.args = (model, detail)
        self.model, self.detail = model, detail


class PluginError(SwitchboardError):
    """A callsystem plugin could not be loaded or resolved."""

    code = "plugin_error"


class PluginLoadError(PluginError):
    """A plugin failed validation or duplicates one already registered."""

    code = "plugin_load_error"

    def __init__(self, plugin: str, reason: str) -> None:
        super().__init__(f"callsystem {plugin} cannot be loaded: {reason}")
        self.args = (plugin, reason)
        self.plugin, self.reason = plugin, reason


class UnknownCallsystem(PluginError):
    """No registered callsystem matches the requested id and version."""

    code = "unknown_callsystem"

    def __init__(self, selector: str, known: tuple[str, ...] = ()) -> None:
        hint = f"; known: {', '.join(known)}" if known else ""
        super().__init__(f"no callsystem matches {selector!r}{hint}")
        self.args = (selector, known)
        self.selector, self.known = selector, known


class StepError(SwitchboardError):
    """A journaled step (tool or model call) did not produce a result."""

    code = "step_failed"


class StepTimeout(StepError):
    """A step's result was not recorded before its deadline."""

    code = "step_timeout"
    retryable = True


class Superseded(SwitchboardError):
    """A newer message in the channel took this activation's place (double-texting policy)."""

    code = "superseded"


class Stale(SwitchboardError):
    """The work waited so long that the conversation has moved on; it is dropped, not answered late."""

    code = "stale"


class BudgetExceeded(SwitchboardError):
    """The answer cannot arrive within its time budget, so no work was started for it."""

    code = "budget_exceeded"


class FirstResponseBudgetExceeded(BudgetExceeded):
    """An agent group's plan predicts its first reply after the first-reply budget."""

    code = "first_response_budget_exceeded"


class ToolError(StepError):
    """A tool could not run or failed."""

    code = "tool_failed"


class UnknownTool(ToolError):
    """The requested tool is not registered (or not allowed)."""

    code = "unknown_tool"


class ToolNotAllowed(ToolError):
    """The callsystem or the guild does not allow this tool (tools are denied unless allowed)."""

    code = "tool_not_allowed"


class ToolFanoutExceeded(ToolError):
    """A model asked for more tool calls in one round than the callsystem allows; the extra calls were refused."""

    code = "tool_fanout_exceeded"


class InvalidToolArguments(ToolError):
    """Tool arguments do not match the tool's JSON Schema."""

    code = "invalid_tool_arguments"


class BlockedAddress(InvalidToolArguments):
    """A URL points (or redirects) inside a private network; fetching tools refuse it."""

    code = "blocked_address"


class LaneFull(StepError):
    """Every slot of a lane (a tool's, a model deployment's) stayed taken for as long as the caller could wait."""

    code = "lane_full"
    retryable = True

    def __init__(self, lane: str, holders: int, capacity: int) -> None:
        super().__init__(f"lane {lane} is full ({holders} of {capacity} slots taken)")
        self.args = (lane, holders, capacity)
        self.lane, self.holders, self.capacity = lane, holders, capacity


class LaneBackpressure(StepError):
    """A lane is full and so many requests already wait for it that this one was refused without waiting."""

    code = "lane_backpressure"
    retryable = True

    def __init__(self, lane: str, queued: int, limit: int) -> None:
        super().__init__(f"lane {lane} is full and {queued} requests already wait for it (limit {limit})")
        self.args = (lane, queued, limit)
        self.lane, self.queued, self.limit = lane, queued, limit


class ToolTimeout(ToolError):
    """A tool ran past its timeout."""

    code = "tool_timeout"
    retryable = True


class InferenceError(StepError):
    """A model call failed."""

    code = "inference_failed"


class PromptTooLong(InferenceError):
    """The conversation does not fit the model's context even with all its history left out."""

    code = "prompt_too_long"


class ModelUnavailable(InferenceError):
    """No replica could serve the model right now."""

    code = "model_unavailable"
    retryable = True


class NoQualifiedModel(InferenceError):
    """No configured model meets what a request asked for (its alias or name, role and requirement profile)."""

    code = "no_qualified_model"

    def __init__(self, requested: str, role: str, reason: str) -> None:
        super().__init__(f"no {role} model qualifies for {requested!r}: {reason}")
        self.args = (requested, role, reason)
        self.requested, self.role, self.reason = requested, role, reason


class PlacementError(InferenceError):
    """A model role asks for resources the cluster does not have; it would never be scheduled."""

    code = "placement_error"


class RoleNotConfigured(InferenceError):
    """This deployment has no backend for a model role (e.g. image generation without a GPU or cloud driver)."""

    code = "role_not_configured"

    def __init__(self, role: str) -> None:
        super().__init__(f"no model is configured for the {role} role on this bot")
        self.args = (role,)
        self.role = role


def _subclasses(cls: type[SwitchboardError]) -> list[type[SwitchboardError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_subclasses(sub))
    return found


def error_from_wire(code: str, message: str) -> SwitchboardError:
    """Rebuild the typed error a worker reported as `(code, message)`; unknown codes give the root class."""
    cls = next((c for c in _subclasses(SwitchboardError) if c.code == code), SwitchboardError)
    error = cls.__new__(cls)
    SwitchboardError.__init__(error, message)
    return error
