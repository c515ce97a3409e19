// models/catalog.SafeURL's rule: http(s) or relative URLs, else ''.
export function safeURL(u, base = document.baseURI) {
  const s = String(u ?? '').replace(/^[\0- ]+|[\0- ]+$/g, '');
  const m = /^([a-z][a-z\d+.-]*):/i.exec(s);
  if (!s || /[\0-\x1f\x7f]/.test(s) || (m && !/^https?$/i.test(m[1]))) return '';
  try {
    const url = new URL(s, base);
    return /^https?:$/.test(url.protocol) ? url.href : '';
  } catch { return ''; }
}
