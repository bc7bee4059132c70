"""An OTLP receiver (`otlp.OtlpReceiver`) that also keeps every export request as received, so a test can
search all of it (span names, attributes, events, links, status messages, resources) for a string."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from switchboard.devstack.otlp_receiver import OtlpReceiver


class RawOtlpReceiver(OtlpReceiver):
    def __init__(self) -> None:
        super().__init__()
        self.exports: list[bytes] = []

    def _add(self, request: ExportTraceServiceRequest) -> None:
        with self._lock:
            self.exports.append(request.SerializeToString())
        super()._add(request)

    def contains(self, text: str) -> list[str]:
        """Every exported span whose encoding holds `text` (as UTF-8), by `service: span name`."""
        needle = text.encode()
        found = []
        with self._lock:
            exports = list(self.exports)
        for raw in exports:
            if needle not in raw:
                continue
            request = ExportTraceServiceRequest.FromString(raw)
            for resource_spans in request.resource_spans:
                service = next((a.value.string_value for a in resource_spans.resource.attributes
                                if a.key == "service.name"), "")
                found += [f"{service}: {span.name}" for scope in resource_spans.scope_spans for span in scope.spans
                          if needle in span.SerializeToString()]
                if needle in resource_spans.resource.SerializeToString():
                    found.append(f"{service}: (resource)")
        return found
