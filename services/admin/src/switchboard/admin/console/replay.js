// Replays: the form on an activation's page, and the report of a replay (also shown for dead letters).

import { api } from "./api.js";
import { activationHref, duration, el, errorLine, facts, outcomeBadge, rawJson } from "./dom.js";

const VERDICTS = {
  matches: "The replay answered exactly as the original did.",
  differs: "The replay answered otherwise, or asked for a step the original never recorded.",
  unknown: "The replay answered, but the original's reply was not kept, so they cannot be compared.",
  failed: "The replay could not run to its end.",
};

/**
 * The replay form for the activation `summary`: mode, callsystem version (the original's unless another is
 * chosen), deliver and force; the report appears under it. `callsystems` is the promise of GET /api/callsystems.
 */
export function replayForm(summary, callsystems) {
  const mode = el("select", { id: "replay-mode", name: "mode", "data-testid": "replay-mode" },
    el("option", { value: "recorded", selected: true }, "recorded: steps read from the journal"),
    el("option", { value: "live" }, "live: steps run again"));
  const version = el("select", { id: "replay-callsystem", name: "callsystem", "data-testid": "replay-callsystem" },
    el("option", { value: "", selected: true }, `${summary.callsystem} (the original's)`));
  const deliver = el("input", { type: "checkbox", id: "replay-deliver", "data-testid": "replay-deliver" });
  const force = el("input", { type: "checkbox", id: "replay-force", "data-testid": "replay-force", disabled: true });
  deliver.addEventListener("change", () => {
    force.disabled = !deliver.checked;
    if (!deliver.checked) force.checked = false;
  });
  const button = el("button", { type: "submit", "data-testid": "replay-submit" }, "Replay");
  const status = el("p", { class: "muted", "data-testid": "replay-status", "aria-live": "polite" });
  const result = el("div", { "data-testid": "replay-result" });
  fillVersions(version, summary.callsystem, callsystems, status);

  const form = el("form", { class: "replay-form", "data-testid": "replay-form" },
    el("div", { class: "fields" },
      el("label", { for: "replay-mode" }, "Mode"), mode,
      el("label", { for: "replay-callsystem" }, "Callsystem"), version,
      el("span", {}), el("label", { class: "toggle" }, deliver, " deliver: post the replay's reply in the channel"),
      el("span", {}), el("label", { class: "toggle" }, force,
        " force: post even though the original's reply was posted")),
    el("div", { class: "actions" }, button, status),
    result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const options = { mode: mode.value, callsystem: version.value || null, deliver: deliver.checked,
      force: force.checked };
    if (options.deliver && !window.confirm(`Replay ${summary.id} (${options.mode}) and post its reply in the channel?`)) {
      return;
    }
    button.disabled = true;
    status.textContent = `replaying (${options.mode}) ...`;
    result.replaceChildren();
    try {
      const report = await api(`activations/${encodeURIComponent(summary.id)}/replay`, { method: "POST", body: options });
      status.textContent = "";
      result.replaceChildren(replayReport(report));
    } catch (error) {
      status.textContent = "";
      result.replaceChildren(errorLine(error, { "data-testid": "replay-error" }));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

async function fillVersions(select, original, callsystems, status) {
  try {
    const { default: fallback, callsystems: known } = await callsystems;
    for (const info of known) {
      if (info.key === original) continue;
      const notes = [info.key === fallback ? "default" : null, info.release_date].filter(Boolean).join(", ");
      select.append(el("option", { value: info.key, title: info.summary }, notes ? `${info.key} (${notes})` : info.key));
    }
  } catch (error) {
    status.textContent = `callsystem list unavailable (${error.message}); the original's is used`;
  }
}

/** What a replay did: the verdict first, then original and replayed reply side by side, then the steps. */
export function replayReport(report) {
  const verdict = report.verdict ?? "unknown";
  const notRecorded = report.not_recorded ?? [];
  return el("section", { class: `report verdict-${verdict}`, "data-testid": "replay-report", "data-verdict": verdict },
    el("div", { class: "verdict-line" },
      el("span", { class: "verdict", "data-testid": "replay-verdict" }, verdict),
      el("span", {}, VERDICTS[verdict] ?? "")),
    facts([
      ["mode", report.mode],
      ["callsystem", report.callsystem ?? "", "replay-callsystem-used"],
      ["original's", report.original_callsystem],
      ["replay", report.replay_id ? el("a", { href: activationHref(report.replay_id) }, report.replay_id) : null,
        "replay-id"],
      ["delivery", report.delivery, "replay-delivery"],
      ["took", duration(report.duration_s)],
      ["stopped at", report.original_stop],
    ]),
    el("div", { class: "compare" },
      replyColumn("Original", report.original, "replay-original"),
      replyColumn("Replayed", report.replayed, "replay-replayed")),
    notRecorded.length ? el("div", { class: "not-recorded", "data-testid": "replay-not-recorded" },
      el("h4", {}, "Not recorded"),
      el("p", {}, "Steps the replay asked for that the original never recorded (the replay stopped there):"),
      stepList(notRecorded)) : null,
    steps("Steps used", report.steps_used, "replay-steps-used"),
    steps("Recorded, not used", report.unused, "replay-unused"),
    report.notes?.length ? el("div", {}, el("h4", {}, "Notes"), el("ul", {}, report.notes.map((n) => el("li", {}, n))))
      : null,
    report.error ? errorLine(`${report.error.code}: ${report.error.message}`, { "data-testid": "replay-report-error" })
      : null,
    rawJson(report, "the whole report"));
}

function replyColumn(title, reply, testid) {
  if (!reply) {
    return el("div", { class: "reply-column", "data-testid": testid },
      el("h4", {}, title), el("p", { class: "muted" }, "no reply: it did not finish"));
  }
  return el("div", { class: "reply-column", "data-testid": testid },
    el("h4", {}, title, " ", outcomeBadge(reply.outcome)),
    reply.text === null ? el("p", { class: "muted" }, "the text was not kept")
      : el("pre", { class: "reply-text", "data-testid": `${testid}-text` }, reply.text),
    reply.images?.length ? el("p", { class: "mono" }, `images: ${reply.images.join(", ")}`) : null,
    reply.error ? el("p", { class: "error" }, `error: ${reply.error}`) : null);
}

function steps(title, names, testid) {
  if (!names?.length) return null;
  return el("div", { "data-testid": testid }, el("h4", {}, title), stepList(names));
}

function stepList(names) {
  return el("ul", { class: "steps" }, names.map((name) => el("li", { class: "mono" }, name)));
}
