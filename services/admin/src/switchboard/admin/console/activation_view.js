// One activation's page (#/activation/<id>): summary, reply, the waterfall of its hops, the journal, the
// replay form and the raw record. An activation that has not finished has no record yet: the page says so
// and fills in when the feed reports it finished.

import { api } from "./api.js";
import { activationHref, dateTime, duration, el, errorLine, facts, jsonTree, outcomeBadge, rawJson,
  routeLink } from "./dom.js";
import { replayForm } from "./replay.js";

/** The page for activation `id`; `dispose()` stops what it listens to. */
export function activationView(id, { feed, callsystems }) {
  const controller = new AbortController();
  const body = el("div", { "data-testid": "activation-body" }, el("p", { class: "muted" }, "loading ..."));
  const root = el("section", { class: "view", "data-testid": "activation-view", "data-activation-id": id },
    el("header", { class: "view-head" },
      el("p", {}, routeLink("", "← activations")),
      el("h2", {}, "Activation ", el("code", { "data-testid": "activation-id" }, id))),
    body);
  let waiting = false;

  async function load() {
    try {
      const detail = await api(`activations/${encodeURIComponent(id)}`, { signal: controller.signal });
      body.replaceChildren(...sections(detail, callsystems));
      root.dataset.loaded = "true";
    } catch (error) {
      if (error.name === "AbortError") return;
      const retry = el("button", { type: "button", onclick: load }, "Look again");
      if (error.status !== 404) {
        body.replaceChildren(errorLine(error, { "data-testid": "activation-error" }), retry);
        return;
      }
      body.replaceChildren(el("p", { class: "muted", "data-testid": "activation-pending" },
        "No record of this activation: it has not finished yet (this page fills in when it does), or its record ",
        "expired."), retry);
      if (!waiting) {
        waiting = true;
        feed.addEventListener("finished", (event) => event.detail.id === id && load(), { signal: controller.signal });
      }
    }
  }
  load();
  return { root, dispose: () => controller.abort() };
}

function sections(detail, callsystems) {
  const { summary, record } = detail;
  const journalSteps = journal(detail.journal);
  const reveal = (name) => {
    const step = journalSteps.find((node) => node.dataset.step === name);
    if (!step) return;
    step.open = true;
    step.scrollIntoView({ block: "nearest" });
  };
  return [
    el("section", { class: "panel", "data-testid": "activation-summary" }, el("h3", {}, "Summary"), summaryFacts(detail)),
    el("section", { class: "panel", "data-testid": "activation-reply" }, el("h3", {}, "Reply"), reply(detail)),
    el("section", { class: "panel" }, el("h3", {}, "Waterfall"),
      el("p", { class: "muted" }, "Each hop from the moment the gateway accepted the message: waiting in a queue or lane (pale), then running (solid)."),
      waterfall(detail.timeline, summary.duration_s, reveal)),
    el("section", { class: "panel", "data-testid": "journal" }, el("h3", {}, `Journal (${detail.journal.length} steps)`),
      journalSteps.length ? journalSteps
        : el("p", { class: "muted" }, "The journal holds no steps: nothing ran, or it expired.")),
    el("section", { class: "panel" }, el("h3", {}, "Replay"), replayForm(summary, callsystems)),
    el("section", { class: "panel" }, el("h3", {}, "Record"), rawJson(record, "the activation record",
      { "data-testid": "activation-record" })),
  ];
}

function summaryFacts({ summary, record, error }) {
  const activation = record.activation;
  return facts([
    ["outcome", outcomeBadge(summary.outcome), "summary-outcome"],
    ["error", error ? `${error.code}: ${error.message}` : null, "summary-error"],
    ["author", summary.author_name, "summary-author"],
    ["where", summary.guild_id ? `guild ${summary.guild_id}, channel ${summary.channel_id}`
      : `direct message ${summary.channel_id}`],
    ["message", el("span", { class: "prewrap" }, activation.content), "summary-message"],
    ["callsystem", summary.callsystem, "summary-callsystem"],
    ["persona", summary.persona],
    ["accepted", dateTime(summary.accepted_at)],
    ["finished", dateTime(summary.finished_at)],
    ["took", duration(summary.duration_s), "summary-duration"],
    ["steps", String(summary.steps)],
    ["planner", record.planner_id],
    ["trace", summary.trace_id, "summary-trace"],
    ["replay of", summary.replay_of ? el("a", { href: activationHref(summary.replay_of) }, summary.replay_of) : null,
      "summary-replay-of"],
    ["notes", record.notes?.length ? record.notes.join("; ") : null],
  ]);
}

function reply({ record, reply_message_ids: messageIds }) {
  const text = record.reply_text;
  return [
    text === null || text === undefined ? el("p", { class: "muted" }, "This record predates kept replies.")
      : text === "" ? el("p", { class: "muted", "data-testid": "reply-text" }, "(no text)")
        : el("pre", { class: "reply-text", "data-testid": "reply-text" }, text),
    record.reply_images?.length ? el("p", { class: "mono" }, `images: ${record.reply_images.join(", ")}`) : null,
    facts([["message ids", el("span", { "data-testid": "reply-message-ids" }, messageIds.length
      ? messageIds.map((messageId) => el("code", { "data-testid": "reply-message-id" }, messageId))
      : "none: not posted (yet), silent, or a replay that was not delivered")]]),
  ];
}

/** The timeline as bars on one time axis (seconds from acceptance); journal hits and errors marked. */
function waterfall(bars, total, reveal) {
  const times = bars.flatMap((bar) => [bar.queued, bar.started, bar.finished]).filter(Number.isFinite);
  const span = Math.max(total || 0, ...times, 0.001);
  const at = (seconds) => `${((100 * Math.max(seconds, 0)) / span).toFixed(3)}%`;
  return el("div", { class: "waterfall", "data-testid": "waterfall" },
    bars.map((bar) => waterfallRow(bar, at, reveal)),
    el("div", { class: "wf-row wf-axis" }, el("span", {}),
      el("div", { class: "wf-ticks" }, el("span", {}, "0"), el("span", {}, duration(span / 2)),
        el("span", {}, duration(span))),
      el("span", {})),
    el("p", { class: "legend muted" }, el("span", { class: "swatch wait" }), " waiting ",
      el("span", { class: "swatch run" }), " running ", el("span", { class: "swatch journal" }),
      " result read from the journal ", el("span", { class: "swatch failed" }), " error"));
}

function waterfallRow(bar, at, reveal) {
  const begin = Number.isFinite(bar.started) ? bar.started : bar.queued;
  const track = el("div", { class: "track" });
  if (Number.isFinite(bar.queued) && Number.isFinite(bar.started) && bar.started > bar.queued) {
    track.append(el("div", { class: "bar wait", style: { left: at(bar.queued), width: at(bar.started - bar.queued) },
      title: `waited ${duration(bar.started - bar.queued)}` }));
  }
  const ran = Number.isFinite(begin) && Number.isFinite(bar.finished);
  if (ran) {
    track.append(el("div", { class: "bar run", "data-testid": "waterfall-bar",
      style: { left: at(begin), width: at(bar.finished - begin) },
      title: `${bar.name}: ${duration(begin)} to ${duration(bar.finished)}` }));
  } else if (Number.isFinite(begin) || Number.isFinite(bar.finished)) {
    track.append(el("div", { class: "bar point", style: { left: at(Number.isFinite(begin) ? begin : bar.finished) },
      title: "only one end of this hop is known" }));
  }
  const kind = String(bar.kind).replace(/[^A-Za-z0-9_-]/g, "");
  return el("div", { class: `wf-row kind-${kind}${bar.from_journal ? " from-journal" : ""}${bar.error ? " failed" : ""}`,
    "data-testid": "waterfall-row", "data-name": bar.name, "data-from-journal": String(Boolean(bar.from_journal)) },
  el("div", { class: "wf-label" },
    el("a", { href: "", title: "show its journal entry",
      onclick: (event) => { event.preventDefault(); reveal(bar.name); } }, bar.name),
    bar.from_journal ? el("span", { class: "badge journal", "data-testid": "journal-hit",
      title: "its result was read from the journal, not run again" }, "journal") : null,
    bar.attempt > 1 ? el("span", { class: "badge" }, `attempt ${bar.attempt}`) : null,
    bar.error ? el("span", { class: "badge outcome-failed" }, bar.error) : null,
    bar.lane ? el("span", { class: "muted lane" }, bar.lane) : null),
  track,
  el("div", { class: "wf-time num" }, ran ? duration(bar.finished - begin) : ""));
}

/** One collapsible entry per step result, in the order the steps finished. */
function journal(results) {
  const ordered = [...results].sort((a, b) => (a.finished_at ?? 0) - (b.finished_at ?? 0));
  return ordered.map((result) => {
    const took = Number.isFinite(result.started_at) ? duration(result.finished_at - result.started_at) : null;
    const about = [result.worker, result.lane, result.attempt ? `attempt ${result.attempt}` : null, took];
    return el("details", { class: "step", "data-testid": "journal-step", "data-step": result.step },
      el("summary", {}, el("code", {}, result.step), " ",
        result.error ? el("span", { class: "badge outcome-failed" }, result.error.code)
          : el("span", { class: "badge outcome-replied" }, "ok"),
        " ", el("span", { class: "muted" }, about.filter(Boolean).join(" · "))),
      result.error ? errorLine(`${result.error.code}: ${result.error.message}`, { "data-testid": "journal-error" })
        : null,
      result.output ? el("div", { class: "step-output", "data-testid": "journal-output" }, jsonTree(result.output))
        : null,
      rawJson(result));
  });
}
