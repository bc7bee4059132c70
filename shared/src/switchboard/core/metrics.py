"""Prometheus metrics: one family set, one registry per process, served on `/metrics`.

Names carry the `switchboard_` prefix and base units (seconds, not milliseconds). Each service records
the families it takes part in; `hop` labels name the path segment a latency belongs to.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    """The metric families of one process, registered on their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.gateway_messages = Counter(
            "switchboard_gateway_messages", "Messages seen by the gateway, by activation decision.",
            ["decision"], registry=r)
        self.activations = Counter(
            "switchboard_activations", "Activations finished by the planner, by trigger and outcome.",
            ["trigger", "outcome"], registry=r)
        self.hop_duration = Histogram(
            "switchboard_hop_duration_seconds", "Latency of one hop of an activation's path.",
            ["hop"], buckets=LATENCY_BUCKETS, registry=r)
        self.steps = Counter(
            "switchboard_steps", "Journaled steps, by kind and how they were resolved.",
            ["kind", "result"], registry=r)
        self.time_to_first_token = Histogram(
            "switchboard_inference_time_to_first_token_seconds", "Time from request to first token.",
            ["model"], buckets=LATENCY_BUCKETS, registry=r)
        self.inference_duration = Histogram(
            "switchboard_inference_request_duration_seconds", "Time from a model request to its last token.",
            ["model", "provider"], buckets=LATENCY_BUCKETS, registry=r)
        self.lane_queue_wait = Histogram(
            "switchboard_lane_queue_wait_seconds", "Time a request waited for a slot of its lane.",
            ["lane"], buckets=LATENCY_BUCKETS, registry=r)
        self.lane_occupancy = Gauge(
            "switchboard_lane_occupancy", "Requests this process runs in a lane now (sum over processes).",
            ["lane"], registry=r)
        self.lane_refusals = Counter(
            "switchboard_lane_refusals", "Requests refused by a lane, by reason (lane_full, lane_backpressure).",
            ["lane", "reason"], registry=r)
        self.replicas = Gauge(
            "switchboard_inference_replicas", "Running replicas of each model role's deployment.",
            ["role"], registry=r)
        self.tokens = Counter(
            "switchboard_inference_tokens", "Tokens processed, by model and direction.",
            ["model", "direction"], registry=r)
        self.discord_rate_limited = Counter(
            "switchboard_discord_rate_limited", "429 responses from Discord's REST API, by scope.",
            ["scope"], registry=r)
        self.discord_budget_waits = Counter(
            "switchboard_discord_budget_waits", "REST requests held back to stay under the shared request budget.",
            registry=r)
        self.replies_posted = Counter(
            "switchboard_replies_posted", "Replies posted to Discord, by outcome.",
            ["outcome"], registry=r)

    def serve(self, host: str, port: int | None) -> int:
        """Serve `/metrics` on a background thread; returns the bound port (0/None picks a free one)."""
        server, _thread = start_http_server(port or 0, addr=host, registry=self.registry)
        return server.server_address[1]
