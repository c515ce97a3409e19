// Lookalike's edge entry (wrangler.toml `main`): /api/* goes to the Go
// worker (app.wasm, github.com/syumai/workers, through instance.mjs);
// every other path is served from the static assets (the folder `go run
// ./builder stage` writes) with the headers of internal/headers, the policy
// builder serve applies too (build/headers.json), precompressed siblings
// included. Errors are plain text or JSON, never a stack trace.
//
// Why not route assets through Go too: Go copies bodies through its
// memory, and one request at a time goes into the Go instance
// (instance.mjs); a 24 MB model should stream straight from the assets
// store.

import { handle as goHandle } from "./instance.mjs";
import policy from "./build/headers.json";

// The header policy (internal/headers, as build/headers.json): the same
// decisions as headers.File in Go, field for field.
const hashed = new RegExp(policy.hashedPattern);
const baseName = (path) => path.slice(path.lastIndexOf("/") + 1);

function ext(path) {
  const base = baseName(path);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot).toLowerCase() : "";
}

const isPage = (path) => path === "" || path.endsWith("/") || ext(path) === ".html";

function setAll(h, pairs) {
  for (const [k, v] of pairs) h.set(k, v);
}

/** Common(page) of the policy: every answer's fields. */
function common(h, { html }) {
  setAll(h, policy.common);
  if (html) {
    for (const [k] of policy.shared) h.delete(k);
    setAll(h, policy.page);
  } else {
    setAll(h, policy.shared);
  }
}

/** File(path): a static file's fields; html when the store says it served a page. */
function fileHeaders(h, path, html) {
  common(h, { html });
  h.set("Content-Type", html ? policy.pageType : policy.contentTypes[ext(path)] || policy.defaultType);
  h.set("Cache-Control", !html && hashed.test(baseName(path)) ? policy.immutable : policy.revalidate);
  if (baseName(path) === policy.serviceWorker) h.set("Service-Worker-Allowed", "/");
}

// safePath refuses what a browser never sends: dot segments (also
// escaped), hidden files, backslashes, NUL, escaped slashes, the edge
// lookup files (read by the Go worker through the binding, not public)
// and the static-host recipe.
function safePath(rawPath) {
  if (/%(2f|5c|00)|\\|\0/i.test(rawPath)) return false;
  let path;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return false;
  }
  const segs = path.split("/").slice(1);
  if (segs[0] === "_worker" || (segs.length === 1 && segs[0] === "_headers")) return false;
  return segs.every((s) => !s.startsWith("."));
}

function plain(status, text, extra = []) {
  const h = new Headers({ "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" });
  common(h, { html: false });
  setAll(h, extra);
  return new Response(status === 204 ? null : text + "\n", { status, headers: h });
}

// The precompressed siblings of the site (`builder stage` writes
// _worker/encodings.json: path → encodings, preferred first), read once
// per isolate. The value is kept, never a promise shared between requests.
let siblings = null;

async function siblingIndex(env) {
  if (siblings) return siblings;
  let index = {};
  try {
    const r = await env.ASSETS.fetch("https://assets.invalid/_worker/encodings.json");
    if (r.ok) index = await r.json();
    else await r.body?.cancel();
  } catch (err) {
    console.error("worker: _worker/encodings.json unreadable; serving without precompressed siblings:", err);
  }
  siblings = new Map(Object.entries(index));
  return siblings;
}

/** The encoding (name, suffix) Accept-Encoding allows among offered, or null (internal/headers Negotiate). */
function negotiate(accept, offered) {
  const q = new Map();
  for (const part of (accept || "").split(",")) {
    const [rawName, ...params] = part.split(";");
    let name = rawName.trim().toLowerCase();
    if (!name) continue;
    if (name === "x-gzip") name = "gzip";
    let w = 1;
    for (const p of params) {
      const [k, v] = p.split("=");
      if (v !== undefined && k.trim().toLowerCase() === "q") {
        const f = Number(v.trim());
        w = v.trim() !== "" && f >= 0 && f <= 1 ? f : 0;
      }
    }
    if (!q.has(name) || w > q.get(name)) q.set(name, w);
  }
  for (const [name, suffix] of policy.encodings) {
    const w = q.has(name) ? q.get(name) : q.get("*");
    if (w > 0 && offered.includes(name)) return { name, suffix };
  }
  return null;
}

async function serveAsset(request, env, url) {
  if (request.method === "OPTIONS") return plain(204, "", policy.preflight);
  if (request.method !== "GET" && request.method !== "HEAD") {
    return plain(405, "method not allowed", [["Allow", "GET, HEAD, OPTIONS"]]);
  }
  if (!safePath(url.pathname)) return plain(404, "not found");
  if (typeof env.ASSETS?.fetch !== "function") {
    // e.g. `wrangler dev --assets DIR` (wrangler 3 drops the binding then).
    console.error("worker: no ASSETS binding; serve the site through wrangler.toml's [assets] (binding = \"ASSETS\")");
    return plain(503, "static assets are not bound to this worker (wrangler.toml [assets] binding = \"ASSETS\")");
  }
  const index = await siblingIndex(env);
  const path = url.pathname.endsWith("/") ? url.pathname + "index.html" : url.pathname;
  // A sibling is a representation of its file, not a resource of its own.
  for (const [, suffix] of policy.encodings) {
    if (path.endsWith(suffix) && index.has(path.slice(0, -suffix.length))) return plain(404, "not found");
  }
  const offered = index.get(path) || [];
  const enc = request.headers.has("Range") ? null : negotiate(request.headers.get("Accept-Encoding"), offered);
  let res = null;
  let sibling = false;
  try {
    if (enc) {
      const u = new URL(url);
      u.pathname = path + enc.suffix;
      const r = await env.ASSETS.fetch(new Request(u, request));
      if (r.status === 200 || r.status === 304) [res, sibling] = [r, true];
      else await r.body?.cancel(); // fall back to the file itself
    }
    res ??= await env.ASSETS.fetch(request);
  } catch (err) {
    console.error("worker: the assets store failed:", err);
    return plain(502, "the static assets store failed");
  }
  if (res.status === 404) return plain(404, "not found");
  const h = new Headers(res.headers);
  const html = isPage(path) || (h.get("Content-Type") || "").startsWith("text/html");
  if (res.status === 200 || res.status === 206 || res.status === 304) fileHeaders(h, path, html);
  else common(h, { html });
  // Text the runtime compresses on the way out varies by encoding too.
  if (offered.length || compressible(path)) h.set("Vary", policy.vary);
  if (sibling && res.status === 200) {
    // The sibling's bytes as they are, under the file's own type: workerd
    // must not encode them again.
    h.set("Content-Encoding", enc.name);
    return new Response(request.method === "HEAD" ? null : res.body, { status: 200, headers: h, encodeBody: "manual" });
  }
  h.delete("Content-Encoding");
  return new Response(res.status === 304 ? null : res.body, { status: res.status, headers: h });
}

/** Of a type hosts compress on the fly (internal/headers Compressible). */
function compressible(path) {
  const dot = path.lastIndexOf(".");
  return dot > path.lastIndexOf("/") && (policy.compressible || []).includes(path.slice(dot).toLowerCase());
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
  // Go sees GET for HEAD (a HEAD answer is the GET answer without its
  // body). Every answer comes from the isolate's one Go instance, which
  // keeps the staged files it has read in memory: a repeat costs what a
  // Cache API lookup would (measured in workerd: docs/deploy.md), so there
  // is no Cache API in front of it; answers still say max-age=60 for
  // browsers.
  //
  // Go gets the method and the URL only (instance.mjs, serve_js.go): the
  // API reads no request header, and every value that crosses into Go is
  // freed later by a finalizer of Go's collector (docs/deploy.md has what
  // that cost).
  const head = request.method === "HEAD";
  let res;
  try {
    res = await goHandle(head ? "GET" : request.method, request.url, env, ctx);
  } catch (err) {
    console.error("worker: Go handler failed:", err);
    return apiError(500, "internal error");
  }
  common(res.headers, { html: false });
  // A 204 (OPTIONS) or 304 has no body, not even an empty one.
  const noBody = head || res.body === null || res.status === 204 || res.status === 304;
  return new Response(noBody ? null : res.body, { status: res.status, headers: res.headers });
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
