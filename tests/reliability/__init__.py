"""Bad input gets a clear, typed error and loses nothing: the services fed what an attacker or a broken
client would send, each concern in its own module.

- `test_wire_fuzz`: wire models against arbitrary and damaged JSON (hypothesis).
- `test_tool_argument_fuzz`: tool calls against the registry, a real tools worker and the planner's checks.
- `test_prompt_injection`: 50 messages talking the model into disallowed tools, through planner and workers.
- `test_ssrf`: `web_fetch` against every way into the private network, with a canary listener.
- `test_hostile_files`: huge, bombed, oversized and truncated files, at the gateway and the vision input.
- `test_secrets_stay_out`: the Discord token and message text in no log line and no span.
- `test_pickle_refused`: pickle and YAML task messages pushed onto `sb.tools`.

Covered elsewhere and not repeated here: the admin API under schemathesis (no 5xx, 401 everywhere without a
token: `tests/integration/test_admin_schema.py`) and its 401/403 by role (`tests/integration/test_admin_api.py`);
`web_fetch`'s own behaviour (`tests/integration/test_web_fetch.py`); the messages of attachment and image
checks (`tests/unit/test_attachment_checks.py`, `tests/unit/test_vision_model.py`,
`tests/integration/test_vision.py`).
"""
