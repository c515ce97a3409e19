// privacy.js — privacy="strict" for the shopper page and <lookalike-search>
// (docs/security.md). The photo never leaves the device, but the thumbnail
// sheets a page fetches after a search are visible to whoever sees its
// requests, and they are chosen by the results. In strict mode every
// thumbnail sheet of the build is fetched before a photo is chosen, in the
// manifest's order, whatever the shopper does; thumbnails are then drawn
// from local blob: copies only, so no request depends on the photo.
// Loaded only in strict mode (the embed stays small without it).

const loads = new Map(); // assets base URL -> Promise<Map<sheet URL, blob: URL>>

/**
 * Fetches every thumbnail sheet (kind "thumbs") that base's manifest.json
 * lists, four at a time, checks each against its sha256 where the browser
 * can hash, and resolves to a Map from the sheet's absolute URL to a blob:
 * URL of the verified copy. A sheet that fails is left out (its
 * thumbnails show as missing; it is never fetched again later, which
 * would depend on the results). Called again for the same base, it
 * returns the same promise.
 */
export function prefetchSheets(base) {
  if (!loads.has(base)) loads.set(base, load(base));
  return loads.get(base);
}

async function load(base) {
  const res = await fetch(new URL('manifest.json', base), { cache: 'no-cache' });
  if (!res.ok) throw new Error(`manifest.json: HTTP ${res.status}`);
  const m = await res.json();
  const sheets = (Array.isArray(m.assets) ? m.assets : []).filter((a) => a.kind === 'thumbs' && typeof a.file === 'string');
  const out = new Map();
  let next = 0;
  const worker = async () => {
    while (next < sheets.length) {
      const a = sheets[next++];
      const url = new URL(a.file, base).href;
      try {
        const r = await fetch(url);
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        const b = await r.arrayBuffer();
        if (crypto.subtle && /^[0-9a-f]{64}$/.test(a.sha256)) {
          const got = [...new Uint8Array(await crypto.subtle.digest('SHA-256', b))].map((x) => x.toString(16).padStart(2, '0')).join('');
          if (got !== a.sha256) throw new Error('sha256 does not match the manifest');
        }
        out.set(url, URL.createObjectURL(new Blob([b], { type: 'image/jpeg' })));
      } catch (err) {
        console.warn(`Lookalike: thumbnail sheet ${a.file}: ${err.message}`);
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return out;
}
