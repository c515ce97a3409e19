// Lookalike's edge entry (wrangler.toml `main`): /api/* goes to the Go
// worker (app.wasm, github.com/syumai/workers); every other path is served
// from the static assets (the folder `go run ./builder stage` writes) with
// the headers builder serve sends, read from build/headers.json so the two
// hosts share one policy.
//
// Why not route assets through Go too: syumai/workers starts a fresh Go
// instance per request and copies bodies through Go memory; a 24 MB model
// should stream straight from the assets store.

import goWorker from "./build/worker.mjs";
import policy from "./build/headers.json";

const hashed = new RegExp(policy.hashedName);

function ext(path) {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot).toLowerCase() : "";
}

// safePath refuses what a browser never sends: dot segments (also
// escaped), hidden files, backslashes, NUL, escaped slashes, and the edge
// lookup files (read by the Go worker through the binding, not public).
function safePath(rawPath) {
  if (/%(2f|5c|00)|\\|\0/i.test(rawPath)) return false;
  let path;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return false;
  }
  const segs = path.split("/").slice(1);
  if (segs[0] === "_worker") return false;
  return segs.every((s) => !s.startsWith("."));
}

function common(h, { html }) {
  for (const [k, v] of Object.entries(policy.common)) h.set(k, v);
  h.set("Content-Security-Policy", policy.csp);
  // The page itself stays same-origin; scripts, assets and the API may be
  // used by other sites (the embed script, a shop's own page).
  h.set("Cross-Origin-Resource-Policy", html ? "same-origin" : "cross-origin");
  if (!html) h.set("Access-Control-Allow-Origin", "*");
}

function plain(status, text, extra = {}) {
  const h = new Headers({ "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", ...extra });
  common(h, { html: false });
  return new Response(status === 204 ? null : text + "\n", { status, headers: h });
}

async function serveAsset(request, env, url) {
  if (request.method === "OPTIONS") {
    return plain(204, "", { Allow: "GET, HEAD, OPTIONS", "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS" });
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    return plain(405, "method not allowed", { Allow: "GET, HEAD, OPTIONS" });
  }
  if (!safePath(url.pathname)) return plain(404, "not found");
  const res = await env.ASSETS.fetch(request);
  if (res.status === 404) return plain(404, "not found");
  const out = new Response(res.body, res); // mutable headers
  const h = out.headers;
  const e = url.pathname.endsWith("/") ? ".html" : ext(url.pathname);
  const html = e === ".html" || (h.get("Content-Type") || "").startsWith("text/html");
  common(h, { html });
  if (res.status === 200 || res.status === 304) {
    // As builder serve: the policy's type, else what the store says, else
    // bytes (e.g. the index's .partN files).
    const ct = policy.contentTypes[e] || h.get("Content-Type") || "application/octet-stream";
    h.set("Content-Type", ct);
    const base = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
    h.set("Cache-Control", hashed.test(base) ? policy.immutable : policy.revalidate);
    if (base === "sw.js") h.set("Service-Worker-Allowed", "/");
  }
  return out;
}

function apiError(status, message) {
  const h = new Headers({ "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" });
  common(h, { html: false });
  return new Response(JSON.stringify({ error: message, status }) + "\n", { status, headers: h });
}

async function serveAPI(request, env, ctx, url) {
  // Go's URL parser refuses a malformed escape outright; answer it here.
  try {
    decodeURIComponent(url.pathname);
  } catch {
    return apiError(400, "malformed path: bad escape");
  }
  // Go sees GET only (a HEAD answer is the GET answer without its body),
  // and its body is read here in full: the Go instance finishes with the
  // request even if the client goes away mid-answer (a stranded instance
  // keeps its memory; API answers are a few KB).
  const head = request.method === "HEAD";
  const get = head ? new Request(request, { method: "GET" }) : request;
  // Answers the Go worker marks public (similar, products: a pure function
  // of the URL and the deployed build, max-age 60) go through the Cache
  // API: a repeat costs a cache lookup instead of a fresh Go instance
  // (~25 ms of CPU). A new deployment is served within max-age.
  const cache = request.method === "GET" || head ? apiCache() : null;
  const key = cache ? new Request(url.toString(), { method: "GET" }) : null;
  if (cache) {
    const hit = await cache.match(key).catch(() => undefined);
    if (hit) return head ? new Response(null, { status: hit.status, headers: hit.headers }) : hit;
  }
  let res, body;
  try {
    res = await goWorker.fetch(get, env, ctx);
    body = await res.arrayBuffer();
  } catch (err) {
    console.error("worker: Go handler failed:", err);
    return apiError(500, "internal error");
  }
  const h = new Headers(res.headers);
  common(h, { html: false });
  if (cache && res.status === 200 && /(^|,)\s*public/.test(h.get("Cache-Control") || "")) {
    ctx.waitUntil(cache.put(key, new Response(body.slice(0), { status: 200, headers: h })).catch(() => {}));
  }
  // A null-body status (OPTIONS answers 204) must get a null body, not an
  // empty one: workerd logs an error for the latter.
  const nullBody = head || [101, 204, 205, 304].includes(res.status);
  return new Response(nullBody ? null : body, { status: res.status, headers: h });
}

// apiCache is the data centre's cache (Cache API), or null where there is
// none (some local runtimes).
function apiCache() {
  try {
    return globalThis.caches?.default ?? null;
  } catch {
    return null;
  }
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/api" || url.pathname.startsWith("/api/")) {
      return serveAPI(request, env, ctx, url);
    }
    return serveAsset(request, env, url);
  },
};
