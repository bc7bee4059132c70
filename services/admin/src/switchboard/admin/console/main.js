// The console's entry point: the token prompt, the session (live feed, feed page, callsystem list) and
// the hash routes: #/ (activations), #/activation/<id>, #/dead-letters.

import { activationView } from "./activation_view.js";
import { api, session, token } from "./api.js";
import { deadLettersView } from "./dead_letters_view.js";
import { FeedView } from "./feed_view.js";
import { LiveFeed } from "./live_feed.js";

const byId = (id) => document.getElementById(id);
const STATUS_TEXT = { connecting: "connecting ...", live: "live", retrying: "reconnecting ...", stopped: "stopped" };

let current = null; // the signed-in session: { feed, feedView, callsystems, view }

async function submitToken(event) {
  event.preventDefault();
  const candidate = byId("token-input").value.trim();
  const button = byId("token-submit");
  button.disabled = true;
  showTokenError(null);
  try {
    const callsystems = await api("callsystems", { bearer: candidate });
    token.set(candidate);
    byId("token-input").value = "";
    start(Promise.resolve(callsystems));
  } catch (error) {
    const advice = { 401: "The token was not accepted.", 403: "Use a token with the operator role." };
    showTokenError(`${error.message}. ${advice[error.status] ?? ""}`.trim());
  } finally {
    button.disabled = false;
  }
}

function start(callsystems = api("callsystems")) {
  callsystems.catch(() => {}); // shown where the list is used
  const feed = new LiveFeed();
  current = { feed, feedView: new FeedView(feed), callsystems, view: null };
  feed.addEventListener("status", (event) => showStatus(event.detail));
  for (const id of ["nav", "feed-status", "sign-out"]) byId(id).hidden = false;
  byId("token-form").hidden = true;
  feed.start();
  current.feedView.load();
  route();
}

/** Leave the session (signed out, or the token stopped working) and show the prompt with `message`. */
function stop(message) {
  if (current) {
    current.view?.dispose();
    current.feed.stop();
    current.feedView.dispose();
    current = null;
  }
  token.clear();
  for (const id of ["nav", "feed-status", "sign-out"]) byId(id).hidden = true;
  byId("view").replaceChildren();
  byId("token-form").hidden = false;
  showTokenError(message);
  byId("token-input").focus();
}

function route() {
  if (!current) return;
  current.view?.dispose();
  const hash = location.hash || "#/";
  const activation = hash.match(/^#\/activation\/([^/]+)$/);
  let section = "feed";
  if (activation) {
    section = null;
    current.view = activationView(decoded(activation[1]), current);
  } else if (hash === "#/dead-letters") {
    section = "dead-letters";
    current.view = deadLettersView();
  } else {
    current.view = { root: current.feedView.root, dispose: () => {} };
  }
  for (const link of byId("nav").querySelectorAll("a")) {
    link.classList.toggle("active", link.dataset.route === section);
  }
  byId("view").replaceChildren(current.view.root);
}

function decoded(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function showStatus(status) {
  const badge = byId("feed-status");
  badge.dataset.status = status;
  badge.textContent = STATUS_TEXT[status] ?? status;
}

function showTokenError(message) {
  const line = byId("token-error");
  line.textContent = message ?? "";
  line.hidden = !message;
}

byId("token-form").addEventListener("submit", submitToken);
byId("sign-out").addEventListener("click", () => stop(null));
session.addEventListener("unauthorized", (event) => stop(`${event.detail.message}. Sign in again.`));
window.addEventListener("hashchange", route);
if (token.get()) start();
else stop(null);
