"""OpenTelemetry setup and W3C trace-context helpers.

Spans are exported over OTLP/HTTP when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`..._TRACES_ENDPOINT`) variable is set; otherwise tracing is a cheap no-op. Trace context rides inside
wire models as a `traceparent` carrier dict.
"""

from __future__ import annotations

import os

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

TRACER_NAME = "switchboard"


def setup_tracing(service_name: str) -> TracerProvider | None:
    """Install a global tracer provider exporting over OTLP when configured; returns it (or None)."""
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return None
    # Imported here: the exporter pulls in protobuf, which services without tracing need not load.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def inject_context(ctx: otel_context.Context | None = None) -> dict[str, str]:
    """The current (or given) context as a W3C carrier, to put inside a wire model."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=ctx)
    return carrier


def extract_context(carrier: dict[str, str]) -> otel_context.Context:
    return propagate.extract(carrier)


def span_context_of(carrier: dict[str, str]) -> trace.SpanContext:
    """The remote span context in a carrier (invalid when the carrier is empty)."""
    return trace.get_current_span(extract_context(carrier)).get_span_context()


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
