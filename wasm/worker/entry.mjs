// Lookalike's edge entry (wrangler.toml `main`): /api/* goes to the Go
// worker (app.wasm, github.com/syumai/workers); every other path is served
// from the static assets (the folder `go run ./builder stage` writes) with
// the headers builder serve sends, read from build/headers.json so the two
// hosts share one policy.
//
// Why not route assets through Go too: Go copies bodies through its
// memory, and one request at a time goes into the Go instance
// (instance.mjs); a 24 MB model should stream straight from the assets
// store.

import { handle as goHandle } from "./instance.mjs";
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
  if (typeof env.ASSETS?.fetch !== "function") {
    // e.g. `wrangler dev --assets DIR` (wrangler 3 drops the binding then).
    console.error("worker: no ASSETS binding; serve the site through wrangler.toml's [assets] (binding = \"ASSETS\")");
    return plain(503, "static assets are not bound to this worker (wrangler.toml [assets] binding = \"ASSETS\")");
  }
  let res;
  try {
    res = await env.ASSETS.fetch(request);
  } catch (err) {
    console.error("worker: the assets store failed:", err);
    return plain(502, "the static assets store failed");
  }
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
  // Go sees GET only (a HEAD answer is the GET answer without its body).
  // Every answer comes from the isolate's one Go instance, which keeps the
  // staged files it has read in memory: a repeat costs what a Cache API
  // lookup would (measured in workerd: docs/deploy.md), so there is no
  // Cache API in front of it; answers still say max-age=60 for browsers.
  const head = request.method === "HEAD";
  const get = head ? new Request(request, { method: "GET" }) : request;
  let res, body;
  try {
    res = await goHandle(get, env, ctx);
    body = await res.arrayBuffer();
  } catch (err) {
    console.error("worker: Go handler failed:", err);
    return apiError(500, "internal error");
  }
  const h = new Headers(res.headers);
  common(h, { html: false });
  // A 204 (OPTIONS) or 304 has no body, not even an empty one.
  const noBody = head || res.status === 204 || res.status === 304;
  return new Response(noBody ? null : body, { status: res.status, headers: h });
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const api = url.pathname === "/api" || url.pathname.startsWith("/api/");
    try {
      return await (api ? serveAPI(request, env, ctx, url) : serveAsset(request, env, url));
    } catch (err) {
      // Never a stack trace to the client.
      console.error("worker:", err);
      return api ? apiError(500, "internal error") : plain(500, "internal error");
    }
  },
};
