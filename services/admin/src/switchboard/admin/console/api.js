// The admin API as the console calls it: the operator token (kept in sessionStorage, so it leaves with
// the tab), JSON requests with the bearer header, and typed errors.

const TOKEN_KEY = "switchboard.console.token";

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Fired (on `session`) when the stored token stops being accepted: `unauthorized`, detail: the ApiError. */
export const session = new EventTarget();

/** An answer other than 2xx: `status` is the HTTP status (0: the request did not reach the service). */
export class ApiError extends Error {
  constructor(status, detail) {
    super(status ? `${status} ${STATUS_TEXT[status] ?? ""}: ${detail}`.replace(" :", ":") : detail);
    this.status = status;
    this.detail = detail;
  }
}

const STATUS_TEXT = { 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
  422: "Unprocessable", 500: "Server Error", 503: "Unavailable" };

/** The URL of an API path (`activations/123`), relative to the console so a path prefix in front works. */
export function apiUrl(path, query = {}) {
  const url = new URL(`../api/${path}`, document.baseURI);
  for (const [name, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== null && item !== undefined) url.searchParams.append(name, String(item));
    }
  }
  return url;
}

export function authHeaders(bearer = token.get()) {
  return { Authorization: `Bearer ${bearer ?? ""}` };
}

/**
 * Call the API; resolves to the JSON answer (null for 204), rejects with ApiError.
 * `bearer` tries a token other than the stored one (the sign-in form): its 401 is not a lost session.
 */
export async function api(path, { method = "GET", query, body, bearer, signal } = {}) {
  const headers = { ...authHeaders(bearer ?? token.get()), Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(apiUrl(path, query), {
      method, headers, signal, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    // A token with characters a header cannot carry fails here too, before anything is sent.
    throw new ApiError(0, `the request failed before an answer came (${error.message})`);
  }
  if (response.ok) return response.status === 204 ? null : response.json();
  const failure = new ApiError(response.status, await errorDetail(response));
  if (response.status === 401 && bearer === undefined) {
    session.dispatchEvent(new CustomEvent("unauthorized", { detail: failure }));
  }
  throw failure;
}

/** What FastAPI said went wrong: its `detail` string, or the validation errors one per line. */
export async function errorDetail(response) {
  const payload = await response.json().catch(() => null);
  const detail = payload?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => `${(item.loc ?? []).join(".")}: ${item.msg ?? ""}`).join("; ");
  }
  return response.statusText || "no detail";
}
