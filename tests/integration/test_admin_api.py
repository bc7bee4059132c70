"""The admin API as an operator uses it, served by the real admin process, over real planner, tools and
inference processes (Ray Serve, echo model) on a real Redis.

The oracle is Redis itself (`sb:replies`, the dead-letter stream, the audit stream) beside what the API
answers. Auth is checked on every route the OpenAPI document lists.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from switchboard.core import keys
from switchboard.core.keys import STREAM_FIELD, Group, Stream
from switchboard.core.wire import Activation, AuditEntry, Outcome, Reply, Trigger
from switchboard.devstack.redis_server import RedisServer
from switchboard.devstack.stack import Stack, StackConfig
from tests.conftest import wait_until

OPERATOR_TOKEN = "operator-token-for-tests"
VIEWER_TOKEN = "viewer-token-for-tests"
TOKENS = {OPERATOR_TOKEN: {"name": "ada", "roles": ["operator"]}, VIEWER_TOKEN: ["viewer"]}
MAX_DELIVERIES = 1


@pytest.fixture(scope="module")
def stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    redis.Redis.from_url(redis_server.url).flushall()
    running = Stack(StackConfig(
        run_dir=Path(tmp_path_factory.mktemp("admin")), chat_backend="echo", redis_url=redis_server.url,
        services=("planner", "tools", "inference", "admin"),
        service_env={"admin": {"SWITCHBOARD_ADMIN_TOKENS": json.dumps(TOKENS),
                               "SWITCHBOARD_REPLAY_LIVE_TIMEOUT_S": "60"},
                     "planner": {"SWITCHBOARD_CLAIM_IDLE_MS": "500", "SWITCHBOARD_CLAIM_INTERVAL_S": "0.2",
                                 "SWITCHBOARD_ACTIVATION_MAX_DELIVERIES": str(MAX_DELIVERIES)}}))
    running.start(timeout=120)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.admin_url, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
                      timeout=90) as client:
        yield client


@pytest.fixture(scope="module")
def client(stack: Stack) -> redis.Redis:
    return redis.Redis.from_url(stack.redis_url, decode_responses=True)


def activation(activation_id: str, content: str = "hello there") -> Activation:
    return Activation(id=activation_id, trigger=Trigger.MENTION, guild_id="1", channel_id="10",
                      message_id=activation_id, author_id="7", author_name="alice", content=content)


def replies_for(client: redis.Redis, activation_id: str) -> list[Reply]:
    replies = [Reply.from_json(fields[STREAM_FIELD]) for _, fields in client.xrange(Stream.REPLIES)]
    return [reply for reply in replies if reply.activation_id == activation_id]


def answered(client: redis.Redis, activation_id: str) -> None:
    client.xadd(Stream.ACTIVATIONS, {STREAM_FIELD: activation(activation_id).to_json()})
    wait_until(lambda: client.exists(keys.record(activation_id)), 60, f"the record of {activation_id}")


def audit(client: redis.Redis) -> list[AuditEntry]:
    return [AuditEntry.from_json(fields[STREAM_FIELD]) for _, fields in client.xrange(Stream.AUDIT)]


def test_every_api_route_needs_a_token_and_the_operator_role(stack: Stack, api: httpx.Client) -> None:
    schema = api.get("/openapi.json").json()
    routes = [(method.upper(), path) for path, methods in schema["paths"].items() for method in methods
              if path.startswith("/api/")]
    assert len(routes) >= 15
    anonymous = httpx.Client(base_url=stack.admin_url, timeout=10)
    viewer = httpx.Client(base_url=stack.admin_url, headers={"Authorization": f"Bearer {VIEWER_TOKEN}"}, timeout=10)
    forged = httpx.Client(base_url=stack.admin_url, headers={"Authorization": "Bearer not-a-token"}, timeout=10)
    for method, template in routes:
        path = template.replace("{activation_id}", "1").replace("{dead_letter_id}", "1-0").replace(
            "{guild_id}", "1").replace("{channel_id}", "10")
        unauthenticated = anonymous.request(method, path)
        assert unauthenticated.status_code == 401, (method, path, unauthenticated.text)
        assert unauthenticated.headers["www-authenticate"] == "Bearer"
        assert forged.request(method, path).status_code == 401, (method, path)
        assert viewer.request(method, path).status_code == 403, (method, path)
    assert api.get("/healthz").json() == {"status": "ok"} and anonymous.get("/readyz").status_code == 200


def test_an_activation_is_found_opened_and_replayed_as_recorded(client: redis.Redis, api: httpx.Client) -> None:
    answered(client, "7001")

    found = api.get("/api/activations", params={"channel_id": "10", "outcome": "replied"}).json()["activations"]
    detail = api.get("/api/activations/7001").json()
    report = api.post("/api/activations/7001/replay", json={"mode": "recorded"}).json()

    assert [summary["id"] for summary in found] == ["7001"]
    assert found[0]["callsystem"].startswith("cs.switchboard.legacy@") and found[0]["author_name"] == "alice"
    assert {step["step"] for step in detail["journal"]} >= {"history:0", "infer:0"}
    bars = {bar["name"]: bar for bar in detail["timeline"]}
    assert bars["queue"]["started"] == 0 and bars["planner"]["finished"] > 0
    infer = bars["infer:0"]
    assert (infer["lane"], infer["attempt"]) == ("local:chat", 1) and infer["result_bytes"] > 0
    assert 0 <= infer["queued"] <= infer["started"] <= infer["finished"]
    assert detail["summary"]["trace_id"] == detail["record"]["trace_id"]
    assert detail["reply_message_ids"] == []  # nothing posts here: there is no gateway
    assert (report["verdict"], report["mode"], report["not_recorded"]) == ("matches", "recorded", [])
    assert report["replayed"]["text"] == "alice: hello there"
    [entry] = [e for e in audit(client) if e.target == "7001"]
    assert (entry.action, entry.operator, entry.mode) == ("replay", "ada", "recorded")


def test_a_selection_is_replayed_as_a_batch_in_order_each_audited_once(client: redis.Redis,
                                                                       api: httpx.Client) -> None:
    ids = ["7101", "7102", "7103"]
    for n, activation_id in enumerate(ids):
        client.xadd(Stream.ACTIVATIONS, {STREAM_FIELD: activation(activation_id, f"batch {n}").to_json()})
    for activation_id in ids:
        wait_until(lambda a=activation_id: client.exists(keys.record(a)), 60, f"the record of {activation_id}")

    batch = api.post("/api/activations/replay", json={
        "mode": "recorded", "concurrency": 2, "selection": {"ids": [*ids, "7199"]}}).json()

    assert (batch["total"], batch["verdicts"]) == (3, {"matches": 3})  # 7199 has no record: the selection skips it
    assert [r["activation_id"] for r in batch["reports"]] == ids
    assert [r["replayed"]["text"] for r in batch["reports"]] == [f"alice: batch {n}" for n in range(3)]
    audited = sorted((e.target, e.operator, e.result_id) for e in audit(client) if e.target in ids)
    assert audited == [(r["activation_id"], "ada", r["replay_id"]) for r in batch["reports"]]  # once each


def test_an_unknown_activation_is_404_and_bad_input_is_422(api: httpx.Client) -> None:
    assert api.get("/api/activations/nothing-here").status_code == 404
    assert api.get("/api/activations/bad id!").status_code in (404, 422)
    assert api.get("/api/activations", params={"limit": 0}).status_code == 422
    assert api.post("/api/activations/7001/replay", json={"mode": "sideways"}).status_code == 422
    refused = api.post("/api/activations/nothing-here/replay", json={}).json()
    assert refused["verdict"] == "failed" and refused["error"]["code"] == "no_record"


def test_a_dead_lettered_activation_is_replayed_live_once_the_fault_is_fixed(
        stack: Stack, client: redis.Redis, api: httpx.Client) -> None:
    # The fault: a planner takes the activation and dies before finishing. The live planner takes it over,
    # finds it past its deliveries, answers with one error reply and dead-letters it.
    with contextlib.suppress(redis.ResponseError):
        client.xgroup_create(Stream.ACTIVATIONS, Group.PLANNERS, id="0", mkstream=True)
    stack.services["planner"].stop()
    client.xadd(Stream.ACTIVATIONS, {STREAM_FIELD: activation("7002", "are you there").to_json()})
    client.xreadgroup(Group.PLANNERS, "planner-that-died", {Stream.ACTIVATIONS: ">"}, count=1)
    stack.services["planner"] = stack.service("planner")
    stack.services["planner"].start()
    listed = wait_until(lambda: api.get("/api/dead-letters").json()["dead_letters"], 60, "the dead letter")
    [dead] = [d for d in listed if d["activation_id"] == "7002"]
    assert dead["source"] == Stream.ACTIVATIONS.value and dead["deliveries"] == MAX_DELIVERIES + 1
    assert dead["activation"]["content"] == "are you there" and "without finishing" in dead["reason"]
    assert api.get(f"/api/dead-letters/{dead['id']}").json() == dead
    [notice] = replies_for(client, "7002")
    assert notice.outcome == Outcome.DEAD_LETTERED

    report = api.post(f"/api/dead-letters/{dead['id']}/replay").json()

    assert report["verdict"] == "differs" and report["mode"] == "live"  # it answers now, not with an error
    assert report["replayed"] == {**report["replayed"], "outcome": "replied", "text": "alice: are you there"}
    assert report["delivery"] == "queued"
    [answer] = replies_for(client, report["replay_id"])
    assert answer.deliver and answer.replay_of == "7002" and answer.reply_to_message_id == "7002"
    assert len(replies_for(client, "7002")) == 1  # the original's error notice, never repeated
    assert api.get(f"/api/dead-letters/{dead['id']}").status_code == 404  # resolved: it left the stream
    assert api.post(f"/api/dead-letters/{dead['id']}/replay").status_code == 404
    actions = [(e.action, e.target) for e in audit(client) if e.operator == "ada"]
    assert ("dead_letter_replay", dead["id"]) in actions and ("replay", "7002") in actions


def test_dead_letters_without_an_activation_are_not_replayable_and_can_be_purged(
        client: redis.Redis, api: httpx.Client) -> None:
    first = client.xadd(Stream.DEAD_LETTERS, {"reason": "invalid_payload: not JSON", "source": Stream.REPLIES.value})
    second = client.xadd(Stream.DEAD_LETTERS, {"reason": "invalid_payload: not JSON", "source": Stream.REPLIES.value})

    assert api.post(f"/api/dead-letters/{first}/replay").status_code == 409
    assert api.delete(f"/api/dead-letters/{first}").status_code == 204
    assert api.delete(f"/api/dead-letters/{first}").status_code == 404
    assert api.post("/api/dead-letters/purge").json() == {"purged": 1}
    assert client.xlen(Stream.DEAD_LETTERS) == 0 and second not in str(api.get("/api/dead-letters").json())
    assert {e.action for e in audit(client)} >= {"dead_letter_purge"}


def test_configuration_is_read_changed_and_checked_and_changes_are_audited(
        client: redis.Redis, api: httpx.Client) -> None:
    unknown = api.patch("/api/config/channels/10", json={"callsystem": "cs.nowhere@9.9.9"})
    nobody = api.patch("/api/config/channels/10", json={"persona": "nobody"})
    changed = api.patch("/api/config/channels/10", json={"callsystem": "cs.switchboard.integrations",
                                                         "allowed_tools": ["clock"]})
    view = api.get("/api/config/channels/10", params={"guild_id": "1"}).json()

    assert unknown.status_code == 422 and "cs.nowhere" in unknown.text
    assert nobody.status_code == 422 and "nobody" in nobody.text
    assert changed.status_code == 200 and changed.json()["stored"]["callsystem"] == "cs.switchboard.integrations"
    assert view["effective"]["callsystem"] == "cs.switchboard.integrations"
    assert view["effective"]["allowed_tools"] == ["clock"]
    [entry] = [e for e in audit(client) if e.action == "config_update"]
    assert entry.target == "channel:10" and "integrations" in (entry.detail or "")
    api.patch("/api/config/channels/10", json={"callsystem": "cs.switchboard.legacy"})


def test_queues_lanes_callsystems_and_personas_are_reported(stack: Stack, api: httpx.Client) -> None:
    queues = api.get("/api/queues").json()
    scraped = httpx.get(stack.metrics_url("admin"), timeout=10).text
    lanes = {lane["lane"]: lane for lane in api.get("/api/lanes").json()["lanes"]}
    callsystems = api.get("/api/callsystems").json()
    personas = api.get("/api/personas").json()["personas"]

    assert {s["stream"] for s in queues["streams"]} == {Stream.ACTIVATIONS.value, Stream.REPLIES.value}
    assert set(queues["celery"]) == {"sb.tools", "sb.inference"} and "dead_letters" in queues
    assert lanes["local:chat"]["role"] == "chat" and lanes["local:chat"]["capacity"] >= 1
    assert lanes["local:chat"]["in_use"] == 0
    assert "cs.switchboard.legacy@1.1.0" in {c["key"] for c in callsystems["callsystems"]}
    assert personas[0]["name"] == "switchboard"
    # The same read-out as gauges, for dashboards and alerts.
    assert "switchboard_queue_scrape_ok 1.0" in scraped
    assert f'switchboard_stream_length{{stream="{Stream.ACTIVATIONS.value}"}}' in scraped
    assert 'switchboard_celery_queue_length{queue="sb.inference"}' in scraped
    assert f"switchboard_dead_letters {float(queues['dead_letters'])}" in scraped


def test_the_feed_streams_accepted_and_finished_events(stack: Stack, client: redis.Redis) -> None:
    seen: list[tuple[str, dict, str]] = []
    headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    with httpx.stream("GET", f"{stack.admin_url}/api/feed", params={"max_s": 30}, headers=headers,
                      timeout=40) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines).startswith("retry:")
        client.xadd(Stream.ACTIVATIONS, {STREAM_FIELD: activation("7003").to_json()})
        event = position = None
        for line in lines:
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("id: "):
                position = line.removeprefix("id: ")
            elif line.startswith("data: ") and event and position:
                seen.append((event, json.loads(line.removeprefix("data: ")), position))
                if event == "finished":
                    break
    assert [(name, data["id"]) for name, data, _ in seen] == [("accepted", "7003"), ("finished", "7003")]
    assert seen[1][1]["outcome"] == "replied" and seen[0][1]["author_name"] == "alice"
    # A client that lost the connection after the first event resumes after it and misses nothing.
    with httpx.stream("GET", f"{stack.admin_url}/api/feed", params={"max_s": 3},
                      headers={**headers, "Last-Event-ID": seen[0][2]}, timeout=10) as response:
        resumed = [line for line in response.iter_lines() if line.startswith("event: ")]
    assert resumed == ["event: finished"]


def test_the_newest_activations_come_first_when_asked(api: httpx.Client) -> None:
    oldest = api.get("/api/activations", params={"limit": 2}).json()["activations"]
    newest = api.get("/api/activations", params={"limit": 2, "order": "newest"}).json()["activations"]
    every = api.get("/api/activations", params={"limit": 1000}).json()["activations"]

    assert [a["id"] for a in oldest] == [a["id"] for a in every[:2]]
    assert [a["id"] for a in newest] == [a["id"] for a in reversed(every[-2:])]


def switchboard(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """The operator's command line, run as operators run it, against this stack's Redis."""
    return subprocess.run([str(Path(sys.executable).parent / "switchboard"), *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "SWITCHBOARD_REDIS_URL": stack.redis_url,
                                           "SWITCHBOARD_OPERATOR": "cli-operator"}, check=False)


def test_the_command_line_has_the_same_verbs(stack: Stack, client: redis.Redis) -> None:
    answered(client, "7004")

    found = switchboard(stack, "activations", "--channel", "10", "--json")
    shown = switchboard(stack, "activation", "7004")
    missing = switchboard(stack, "activation", "nothing-here")
    queues = json.loads(switchboard(stack, "queues", "--json").stdout)
    dead_id = client.xadd(Stream.DEAD_LETTERS, {"reason": "invalid_payload: test", "source": Stream.REPLIES.value})
    listed = switchboard(stack, "dead-letters")
    refused = switchboard(stack, "dead-letters", "replay", dead_id)
    purged = json.loads(switchboard(stack, "dead-letters", "purge", dead_id, "--json").stdout)
    configured = switchboard(stack, "config", "channel", "11", "--guild", "1", "--set", '{"keywords": ["robot"]}',
                             "--json")
    unknown = switchboard(stack, "config", "channel", "11", "--set", '{"callsystem": "cs.nowhere"}')

    assert found.returncode == 0 and "7004" in [a["id"] for a in json.loads(found.stdout)["activations"]]
    assert shown.returncode == 0 and "7004: replied" in shown.stdout and "infer:0" in shown.stdout
    assert "local:chat" in shown.stdout and "attempt 1" in shown.stdout
    assert missing.returncode == 1 and "no record" in missing.stderr
    assert {s["stream"] for s in queues["streams"]} == {Stream.ACTIVATIONS.value, Stream.REPLIES.value}
    assert dead_id in listed.stdout and "invalid_payload: test" in listed.stdout
    assert refused.returncode == 1 and "nothing to replay" in refused.stderr
    assert purged == {"purged": 1} and client.xlen(Stream.DEAD_LETTERS) == 0
    assert configured.returncode == 0 and json.loads(configured.stdout)["effective"]["keywords"] == ["robot"]
    assert unknown.returncode == 1 and "cs.nowhere" in unknown.stderr
    assert [e.operator for e in audit(client) if e.target == "channel:11"] == ["cli-operator"]


def test_personas_shared_by_operators_and_a_guilds_own_kept_apart(api: httpx.Client, client: redis.Redis) -> None:
    saved = api.put("/api/personas/helper", json={"instructions": "You help everyone."})
    assert saved.status_code == 200 and saved.json()["scope"] == "shared"
    client.hset(keys.guild_personas("2"), "mole", '{"kind": "persona", "name": "mole", "instructions": "evil"}')
    seen_by_1 = {p["name"]: p["scope"] for p in api.get("/api/personas", params={"guild_id": "1"}).json()["personas"]}
    seen_by_2 = {p["name"]: p["scope"] for p in api.get("/api/personas", params={"guild_id": "2"}).json()["personas"]}
    assert seen_by_1 == {"switchboard": "builtin", "helper": "shared"}
    assert seen_by_2 == {"switchboard": "builtin", "helper": "shared", "mole": "guild"}
    refused = api.patch("/api/config/guilds/1", json={"persona": "mole"})  # guild 1 cannot name guild 2's
    assert refused.status_code == 422 and "no persona named mole" in refused.text
    assert api.delete("/api/personas/mole", params={"guild_id": "2"}).status_code == 204  # moderation
    assert api.delete("/api/personas/mole", params={"guild_id": "2"}).status_code == 404
    assert [e.action for e in audit(client)[-3:]] == ["persona_update", "persona_delete", "persona_delete"]


def test_a_guilds_usage_is_counted_and_its_quota_set_only_by_operators(api: httpx.Client,
                                                                        client: redis.Redis) -> None:
    answered(client, "usage-1")
    shown = api.get("/api/guilds/1/usage", params={"days": 3}).json()
    assert len(shown["days"]) == 3 and shown["own_quota"] is False
    today = shown["days"][0]["usage"]
    assert today["tokens_in"] > 0 and today["tokens_out"] > 0 and today["model_seconds"] > 0
    assert api.get("/api/guilds/2/usage").json()["days"][0]["usage"]["tokens_in"] == 0  # another guild's is its own

    quota = api.put("/api/guilds/1/quota", json={"tokens_per_day": 5, "user_images_per_day": 0}).json()
    assert quota["own_quota"] and quota["quota"]["tokens_per_day"] == 5
    assert api.put("/api/guilds/1/quota", json={"tokens_per_day": -1}).status_code == 422
    assert not api.delete("/api/guilds/1/quota").json()["own_quota"]
    assert [(e.action, e.target) for e in audit(client)[-2:]] == [("quota_update", "guild:1")] * 2


def test_an_operator_purges_a_guild_now(api: httpx.Client, client: redis.Redis) -> None:
    client.set(keys.guild_config("3"), "{}")
    client.hset(keys.memory("3", "user", "7"), "k", '"v"')
    client.hset(keys.guild_personas("4"), "kept", "{}")
    purged = api.post("/api/guilds/3/purge").json()
    assert purged["keys_deleted"] == 2
    assert not client.exists(keys.guild_config("3"), keys.memory("3", "user", "7"))
    assert client.exists(keys.guild_personas("4"))
    assert (audit(client)[-1].action, audit(client)[-1].target) == ("guild_purge", "guild:3")
