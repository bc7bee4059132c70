// The dead-letter page (#/dead-letters): queue depths, then what could not be processed and why, with a
// Replay (live, its reply posted) and a Purge button per entry, each asking first.

import { api } from "./api.js";
import { activationHref, dateTime, duration, el, errorLine, fill } from "./dom.js";
import { replayReport } from "./replay.js";

export function deadLettersView() {
  const queues = el("div", { "data-testid": "queues" }, el("p", { class: "muted" }, "loading ..."));
  const letters = el("div", { "data-testid": "dead-letters" }, el("p", { class: "muted" }, "loading ..."));
  const root = el("section", { class: "view", "data-testid": "dead-letters-view" },
    el("header", { class: "view-head" }, el("h2", {}, "Dead letters and queues"),
      el("button", { type: "button", "data-testid": "dead-letters-refresh", onclick: () => refresh() }, "Refresh")),
    el("section", { class: "panel" }, el("h3", {}, "Queues"), queues),
    el("section", { class: "panel" }, el("h3", {}, "Dead letters"), letters));

  async function refresh() {
    await Promise.all([loadQueues(queues), loadLetters(letters, refresh)]);
    root.dataset.loaded = "true";
  }
  refresh();
  return { root, dispose: () => {} };
}

async function loadQueues(target) {
  try {
    const { streams, celery, dead_letters: deadLetters } = await api("queues");
    target.replaceChildren(
      el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, ["stream", "length", "pending", "lag", "oldest pending", "consumers"]
          .map((name) => el("th", {}, name)))),
        el("tbody", {}, streams.map((stream) => el("tr", { "data-testid": "queue-row", "data-stream": stream.stream },
          el("td", { class: "mono" }, stream.stream), el("td", { class: "num" }, stream.length),
          el("td", { class: "num" }, stream.pending), el("td", { class: "num" }, stream.lag),
          el("td", { class: "num" }, duration(stream.oldest_pending_age_s)),
          el("td", { class: "num" }, stream.consumers_active))))),
      el("table", { class: "grid narrow" },
        el("thead", {}, el("tr", {}, el("th", {}, "Celery queue"), el("th", {}, "tasks waiting"))),
        el("tbody", {}, Object.entries(celery).map(([name, waiting]) =>
          el("tr", { "data-testid": "queue-row", "data-queue": name },
            el("td", { class: "mono" }, name), el("td", { class: "num" }, waiting))))),
      el("p", {}, "Dead letters: ", el("strong", { "data-testid": "queues-dead-letters" }, String(deadLetters))));
  } catch (error) {
    target.replaceChildren(errorLine(error));
  }
}

async function loadLetters(target, refresh) {
  try {
    const { total, dead_letters: entries } = await api("dead-letters");
    const purgeAll = el("button", { type: "button", class: "danger", "data-testid": "dead-letters-purge-all",
      disabled: total === 0, onclick: () => act(`Remove all ${total} dead letters?`,
        () => api("dead-letters/purge", { method: "POST" }), purgeAll, status, refresh) }, "Purge all");
    const status = el("div", { "data-testid": "dead-letters-status" });
    const tbody = el("tbody", {});
    for (const entry of entries) tbody.append(...letterRows(entry, refresh));
    fill(target,
      el("p", { "data-testid": "dead-letters-total" },
        total === 0 ? "None." : `${total} in all${total > entries.length ? `, the newest ${entries.length} shown` : ""}. `,
        total ? purgeAll : null),
      status,
      entries.length ? el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, ["dead-lettered", "source", "reason", "activation", "deliveries", "message", ""]
          .map((name) => el("th", {}, name)))), tbody) : null);
  } catch (error) {
    target.replaceChildren(errorLine(error));
  }
}

/** A dead letter's row, and the row under it where the outcome of a button shows. */
function letterRows(entry, refresh) {
  const outcome = el("td", { colspan: 7 });
  const result = el("tr", { class: "result-row", "data-testid": "dead-letter-result", "data-id": entry.id }, outcome);
  const path = `dead-letters/${encodeURIComponent(entry.id)}`;
  const about = entry.activation_id ?? entry.entry_id ?? entry.id;
  const replay = el("button", { type: "button", "data-testid": "dead-letter-replay", disabled: !entry.activation,
    title: entry.activation ? "run it again, live, and post its reply" : "it holds no readable activation",
    onclick: () => act(`Run activation ${about} again, live, and post its reply in the channel?`,
      async () => {
        const report = await api(`${path}/replay`, { method: "POST" });
        if (report.replayed) settled(row, "replayed: no longer a dead letter");
        return replayReport(report);
      },
      replay, outcome, null) }, "Replay");
  const purge = el("button", { type: "button", class: "danger", "data-testid": "dead-letter-purge",
    onclick: () => act(`Remove dead letter ${entry.id}?`, () => api(path, { method: "DELETE" }), purge, outcome,
      refresh) }, "Purge");
  const activation = entry.activation;
  const row = el("tr", { "data-testid": "dead-letter-row", "data-id": entry.id },
    el("td", { class: "time" }, dateTime(entry.at)),
    el("td", { class: "mono" }, entry.source),
    el("td", { class: "reason", "data-testid": "dead-letter-reason" }, entry.reason),
    el("td", { class: "mono" }, entry.activation_id
      ? el("a", { href: activationHref(entry.activation_id) }, entry.activation_id) : ""),
    el("td", { class: "num" }, entry.deliveries ?? ""),
    el("td", { class: "excerpt" }, activation ? `${activation.author_name}: ${activation.content.slice(0, 120)}` : ""),
    el("td", { class: "actions" }, replay, " ", purge));
  return [row, result];
}

/** Mark a row whose entry left the stream; its buttons stay off. */
function settled(row, note) {
  row.dataset.state = "settled";
  for (const button of row.querySelectorAll("button")) {
    button.dataset.done = "true";
    button.disabled = true;
  }
  row.querySelector(".reason").append(el("span", { class: "badge outcome-replied" }, note));
}

/**
 * Ask, then run `action` with `button` disabled; what it resolves to (a node, or nothing) or its failure
 * shows in `target`; `after` runs on success.
 */
async function act(question, action, button, target, after) {
  if (!window.confirm(question)) return;
  button.disabled = true;
  target.replaceChildren(el("p", { class: "muted" }, "working ..."));
  try {
    const shown = await action();
    fill(target, shown instanceof Node ? shown : null);
    if (after) await after();
  } catch (error) {
    target.replaceChildren(errorLine(error));
  } finally {
    button.disabled = button.dataset.done === "true";
  }
}
