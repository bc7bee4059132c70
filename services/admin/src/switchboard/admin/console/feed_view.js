// The feed page: activations of the last hour, newest first, with new ones added as the gateway accepts
// them and their outcome filled in when they finish. It keeps listening while another page shows, so
// coming back costs nothing.

import { api } from "./api.js";
import { activationHref, clock, duration, el, errorLine, fill, outcomeBadge } from "./dom.js";

const WINDOW_S = 3600;
const LIMIT = 1000; // the API's largest page; also the most rows kept
const SETTLE_MS = 10000; // how often rows the live events left incomplete are looked up

export class FeedView {
  #rows = new Map(); // activation id -> { entry, view: { row, cells, link } }
  #lastEventAt = null; // the service's clock, from the feed's events
  #connectedAt = null; // this browser's clock
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
      // Events between two connections are lost: what finished meanwhile is in the records.
      const now = Date.now() / 1000;
      if (event.detail.reconnect) this.#settle(Math.min(this.#lastEventAt ?? now, this.#connectedAt ?? now), false);
      this.#connectedAt = now;
    });
    this.#timer = setInterval(() => this.#settleIncomplete(), SETTLE_MS);
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

  /**
   * Rows the feed's events left incomplete: still running (a `finished` event missed?), or finished with
   * no callsystem shown (the event does not carry it). Their records say the rest; a finished one is
   * looked up once.
   */
  #settleIncomplete() {
    const incomplete = [...this.#rows.values()].map(({ entry }) => entry)
      .filter((entry) => !entry.outcome || (!entry.callsystem && !entry.settled));
    if (incomplete.length === 0) return;
    for (const entry of incomplete) entry.settled = Boolean(entry.outcome);
    this.#settle(Math.min(...incomplete.map((entry) => entry.accepted_at).filter(Number.isFinite)), true);
  }

  async #settle(since, onlyKnown) {
    if (!Number.isFinite(since)) return;
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
      render(known.view, known.entry);
      return;
    }
    const entry = { ...fields };
    const view = newRow(entry);
    render(view, entry);
    this.#rows.set(entry.id, { entry, view });
    this.#place(view.row, entry);
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

/** A row whose cells (and link) stay the same elements while their contents follow the entry. */
function newRow(entry) {
  const link = el("a", { href: activationHref(entry.id), "data-testid": "activation-link" });
  const cells = {
    time: el("td", { class: "time", title: entry.id }), place: el("td", { class: "mono" }), author: el("td"),
    message: el("td", { class: "excerpt" }), callsystem: el("td", { class: "mono" }),
    outcome: el("td", { "data-testid": "activation-outcome" }), took: el("td", { class: "num" }),
  };
  const row = el("tr", { "data-testid": "activation-row", "data-activation-id": entry.id }, Object.values(cells));
  return { row, cells, link };
}

function render({ row, cells, link }, entry) {
  row.dataset.outcome = entry.outcome ?? "running";
  row.classList.toggle("replay", Boolean(entry.replay_of));
  link.textContent = entry.excerpt || entry.id;
  link.title = entry.reply_excerpt ? `reply: ${entry.reply_excerpt}` : "";
  fill(cells.time, clock(entry.accepted_at));
  fill(cells.place, entry.guild_id ? `#${entry.channel_id ?? "?"}` : "DM");
  cells.place.title = entry.guild_id ? `guild ${entry.guild_id}` : "direct message";
  fill(cells.author, entry.author_name ?? "");
  fill(cells.message, link, entry.replay_of ? el("span", { class: "badge replay" }, "replay") : null);
  fill(cells.callsystem, entry.callsystem ?? "");
  fill(cells.outcome, outcomeBadge(entry.outcome, { title: entry.error }));
  fill(cells.took, duration(entry.duration_s));
}
