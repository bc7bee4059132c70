// The live feed of activations (`GET /api/feed`, server-sent events), read with fetch and a stream
// reader because EventSource cannot send the bearer header. The service ends the stream now and then:
// a stream that was live a while is reopened at once, resuming after the last event seen (`Last-Event-ID`),
// so nothing still in the streams is missed; listeners hear `connected` with `reconnect: true`. A failed
// attempt is retried after the `retry` the stream asked for.
//
// Events dispatched on a LiveFeed:
//   accepted, finished   detail: the event's JSON data
//   status               detail: "connecting" | "live" | "retrying" | "stopped"
//   connected            detail: { reconnect: true when an earlier connection was lost (events may be missed) }

import { ApiError, apiUrl, authHeaders, errorDetail, session } from "./api.js";

const STEADY_MS = 1000; // a stream that lasted this long is reopened without waiting

export class LiveFeed extends EventTarget {
  #controller = null;
  #connections = 0;
  #liveSince = null; // when the current stream opened (this browser's clock, ms)
  #lastEventId = null; // where the last event left the streams: a reconnect resumes there
  retryMs = 2000;
  status = "stopped";
  lastError = null;

  start() {
    if (this.#controller) return;
    this.#controller = new AbortController();
    this.#run(this.#controller.signal);
  }

  stop() {
    this.#controller?.abort();
    this.#controller = null;
    this.#setStatus("stopped");
  }

  async #run(signal) {
    while (!signal.aborted) {
      this.#setStatus("connecting");
      this.#liveSince = null;
      try {
        await this.#read(signal);
        this.lastError = null;
      } catch (error) {
        if (signal.aborted) return;
        this.lastError = error;
        if (error instanceof ApiError && error.status === 401) {
          session.dispatchEvent(new CustomEvent("unauthorized", { detail: error }));
          return;
        }
      }
      if (signal.aborted) return;
      if (this.#liveSince !== null && Date.now() - this.#liveSince > STEADY_MS) continue;
      this.#setStatus("retrying");
      await pause(this.retryMs, signal);
    }
  }

  async #read(signal) {
    const resume = this.#lastEventId ? { "Last-Event-ID": this.#lastEventId } : {};
    const response = await fetch(apiUrl("feed"), {
      headers: { ...authHeaders(), ...resume, Accept: "text/event-stream" }, cache: "no-store", signal,
    });
    if (!response.ok) throw new ApiError(response.status, await errorDetail(response));
    this.#connections += 1;
    this.#liveSince = Date.now();
    this.#setStatus("live");
    this.dispatchEvent(new CustomEvent("connected", { detail: { reconnect: this.#connections > 1 } }));
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer = (buffer + value).replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        this.#dispatchBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  /** One event block: `event:`, `data:` (joined), `retry:`; comment lines (keep-alives) are skipped. */
  #dispatchBlock(block) {
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
      else if (field === "id") this.#lastEventId = value;
      else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
    }
    if (data.length === 0) return;
    let payload;
    try {
      payload = JSON.parse(data.join("\n"));
    } catch {
      return; // not an event this console knows
    }
    this.dispatchEvent(new CustomEvent(type, { detail: payload }));
  }

  #setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.dispatchEvent(new CustomEvent("status", { detail: status }));
  }
}

function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
