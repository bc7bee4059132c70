// The feed page: activations of the last hour, newest first, with new ones added as the gateway accepts
// them and their outcome filled in when they finish. It keeps listening while another page shows, so
// coming back costs nothing.

import { api } from "./api.js";
import { activationHref, clock, duration, el, errorLine, outcomeBadge } from "./dom.js";

const WINDOW_S = 3600;
const LIMIT = 1000; // the API's largest page; also the most rows kept
const SETTLE_MS = 15000; // how often activations still shown as running are looked up

export class FeedView {
  #rows = new Map(); // activation id -> { entry, row }
  #lastEventAt = null; // the service's clock, from the feed's events
  #timer;

  constructor(feed) {
    this.tbody = el("tbody", { "data-testid": "feed-rows" });
    this.error = el("div", { "data-testid": "feed-error" });
    const replays = el("input", { type: "checkbox", id: "feed-show-replays", checked: true,
      onchange: () => this.root.classList.toggle("hide-replays", !replays.checked) });
    this.root = el("section", { class: "view", "data-testid": "feed-view" },
      el("header", { class: "view-head" },
        el("h2", {}, "Activations"),
        el("p", { class: "muted" }, "The last hour, newest first; new ones appear as the gateway accepts them."),
        el("label", { class: "toggle" }, replays, " show replays")),
      this.error,
      el("table", { class: "grid", "data-testid": "feed" },
        el("thead", {}, el("tr", {}, ["accepted", "channel", "author", "message", "callsystem", "outcome",
          "took"].map((name) => el("th", {}, name)))),
        this.tbody));
    feed.addEventListener("accepted", (event) => this.#accepted(event.detail));
    feed.addEventListener("finished", (event) => this.#finished(event.detail));
    feed.addEventListener("connected", (event) => {
      if (event.detail.reconnect) this.#settle(this.#lastEventAt, false);
    });
    this.#timer = setInterval(() => this.#settlePending(), SETTLE_MS);
  }

  dispose() {
    clearInterval(this.#timer);
  }

  /** Fill the table from the records of the last hour; sets `data-loaded` on the root when done. */
  async load() {
    const since = Date.now() / 1000 - WINDOW_S;
    try {
      const { activations } = await api("activations", { query: { since, include_replays: true, limit: LIMIT } });
      for (const summary of activations) this.#upsert(fromSummary(summary));
      if (activations.length >= LIMIT) {
        this.error.replaceChildren(el("p", { class: "muted" }, `Only the first ${LIMIT} of the last hour are shown.`));
      }
    } catch (error) {
      this.error.replaceChildren(errorLine(error));
    }
    this.root.dataset.loaded = "true";
  }

  #accepted(event) {
    this.#lastEventAt = Math.max(this.#lastEventAt ?? 0, event.at);
    this.#upsert({ id: event.id, accepted_at: event.at, guild_id: event.guild_id, channel_id: event.channel_id,
      author_name: event.author_name, excerpt: event.excerpt, replay_of: event.replay_of });
  }

  async #finished(event) {
    this.#lastEventAt = Math.max(this.#lastEventAt ?? 0, event.at);
    const known = this.#rows.get(event.id);
    const finished = { id: event.id, outcome: event.outcome, reply_excerpt: event.excerpt, finished_at: event.at };
    if (known) {
      this.#upsert({ ...finished, duration_s: event.at - known.entry.accepted_at });
      return;
    }
    try { // accepted before this page listened: the record has the rest
      const { summary } = await api(`activations/${encodeURIComponent(event.id)}`);
      this.#upsert({ ...fromSummary(summary), reply_excerpt: event.excerpt });
    } catch {
      this.#upsert({ ...finished, accepted_at: event.at, excerpt: "" });
    }
  }

  /** Running activations whose `finished` event was missed: their records say how they ended. */
  #settlePending() {
    const pending = [...this.#rows.values()].filter(({ entry }) => !entry.outcome).map(({ entry }) => entry);
    if (pending.length === 0) return;
    this.#settle(Math.min(...pending.map((entry) => entry.accepted_at)), true);
  }

  async #settle(since, onlyKnown) {
    if (since === null) return;
    try {
      const { activations } = await api("activations", {
        query: { since: since - 5, include_replays: true, limit: LIMIT } });
      for (const summary of activations) {
        if (!onlyKnown || this.#rows.has(summary.id)) this.#upsert(fromSummary(summary));
      }
    } catch {
      // the next round tries again; a lost session is handled by the API layer
    }
  }

  #upsert(fields) {
    const known = this.#rows.get(fields.id);
    if (known) {
      for (const [name, value] of Object.entries(fields)) if (value !== undefined) known.entry[name] = value;
      render(known.row, known.entry);
      return;
    }
    const entry = { ...fields };
    const row = el("tr", { "data-testid": "activation-row", "data-activation-id": entry.id });
    render(row, entry);
    this.#rows.set(entry.id, { entry, row });
    this.#place(row, entry);
    while (this.tbody.children.length > LIMIT) {
      const oldest = this.tbody.lastElementChild;
      this.#rows.delete(oldest.dataset.activationId);
      oldest.remove();
    }
  }

  #place(row, entry) {
    for (const other of this.tbody.children) {
      if (this.#rows.get(other.dataset.activationId).entry.accepted_at < entry.accepted_at) {
        this.tbody.insertBefore(row, other);
        return;
      }
    }
    this.tbody.append(row);
  }
}

function fromSummary(summary) {
  const { id, accepted_at, guild_id, channel_id, author_name, excerpt, callsystem, outcome, error, duration_s,
    replay_of, finished_at } = summary;
  return { id, accepted_at, guild_id, channel_id, author_name, excerpt, callsystem, outcome, error, duration_s,
    replay_of, finished_at };
}

function render(row, entry) {
  row.dataset.outcome = entry.outcome ?? "running";
  row.classList.toggle("replay", Boolean(entry.replay_of));
  const link = el("a", { href: activationHref(entry.id), "data-testid": "activation-link",
    title: entry.reply_excerpt ? `reply: ${entry.reply_excerpt}` : null }, entry.excerpt || entry.id);
  row.replaceChildren(
    el("td", { class: "time", title: entry.id }, clock(entry.accepted_at)),
    el("td", { class: "mono", title: entry.guild_id ? `guild ${entry.guild_id}` : "direct message" },
      entry.guild_id ? `#${entry.channel_id ?? "?"}` : "DM"),
    el("td", {}, entry.author_name ?? ""),
    el("td", { class: "excerpt" }, link, entry.replay_of ? el("span", { class: "badge replay" }, "replay") : null),
    el("td", { class: "mono" }, entry.callsystem ?? ""),
    el("td", {}, outcomeBadge(entry.outcome, { "data-testid": "activation-outcome", title: entry.error })),
    el("td", { class: "num" }, duration(entry.duration_s)),
  );
}
