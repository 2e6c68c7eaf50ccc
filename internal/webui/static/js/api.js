// The client of API v1, the same API the CLI uses. URLs are relative to
// the page (api/v1/…), so that the UI works under any path prefix: served
// with --base-path or behind a proxy that strips one.
import { lang } from "../i18n.js";

// ApiError carries the problem document of a failed request.
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || String(status));
    this.status = status;
    this.problem = problem || {};
  }
}

// RawJSON is a request body that is JSON text already, such as a file
// being imported: it goes as it is, not parsed and written again (which
// would round numbers past 2^53 and drop what the server should judge).
export class RawJSON {
  constructor(text) {
    this.text = text;
  }
}

function cookie(name) {
  const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
  return m ? decodeURIComponent(m[1]) : "";
}

// apiURL is the URL of an API v1 path, relative to the page.
export const apiURL = (path) => "api/v1" + path;

// api calls API v1 with the session cookie and the CSRF token. Every
// change is sent as JSON, also one without a body: the server refuses
// any other (a page of another site could send those).
export async function api(method, path, body, headers = {}) {
  // Accept-Language: trigger descriptions come in the page's language.
  const init = { method, headers: { Accept: "application/json", "Accept-Language": lang() === "zh" ? "zh-CN" : "en", ...headers }, credentials: "same-origin" };
  if (method !== "GET") {
    init.headers["X-CSRF-Token"] = cookie("sundial_csrf");
    init.headers["Content-Type"] = "application/json";
  }
  if (body !== undefined) init.body = body instanceof RawJSON ? body.text : JSON.stringify(body);
  const res = await fetch(apiURL(path), init);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (res.status === 401 && location.hash !== "#/login") {
    location.hash = "#/login";
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return { data, res, text };
}

// get returns the body of a GET.
export const get = async (path) => (await api("GET", path)).data;

// withQuery adds query parameters to a path that may have some already.
export function withQuery(path, params) {
  const q = new URLSearchParams(params).toString();
  return q ? path + (path.includes("?") ? "&" : "?") + q : path;
}

// getPages returns the first n items at least of a paged list (key is the
// list's name in each page, such as "runs"), following next_cursor, and
// the cursor of what comes after them ("" at the end).
export async function getPages(path, key, n) {
  const items = [];
  let cursor = "";
  do {
    const page = await get(withQuery(path, { limit: Math.min(1000, Math.max(1, n - items.length)), ...(cursor ? { cursor } : {}) }));
    items.push(...page[key]);
    cursor = page.next_cursor || "";
  } while (cursor && items.length < n);
  return { items, cursor };
}

// newestWins orders a page's fetches: each call marks one as started and
// returns a check that holds while no later one has started. An answer
// that is no longer the newest is dropped: a refresh under way when the
// reader pressed Load more, or picked another filter, must not paint its
// older list over theirs (and reset what the reader scrolled to).
export function newestWins() {
  let started = 0;
  return () => {
    const mine = ++started;
    return () => mine === started;
  };
}

// getAll returns every item of a paged list, however many pages it takes.
export async function getAll(path, key) {
  return (await getPages(path, key, Infinity)).items;
}
