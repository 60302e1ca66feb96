// The admin API client: every call carries the operator's token (the admin
// token or an admin JWT) as a Bearer header. The token lives in
// sessionStorage only: closing the tab forgets it.
const KEY = 'vbwd.admin.token';

export const token = {
  get: () => sessionStorage.getItem(KEY) || '',
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
  // off: the admin API is not turned on in this engine.
  get off() { return this.status === 404 && /admin API is off/.test(this.message); }
  // missing: this engine has no such admin route (an older engine).
  get missing() { return this.status === 404 && /^no admin route/.test(this.message); }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

// api calls the admin API. opts: {query, body (object → JSON, string →
// sent as is with contentType), raw (resolve to the Response when ok)}.
export async function api(method, path, opts = {}) {
  const headers = {};
  if (token.get() && !opts.anonymous) headers.Authorization = `Bearer ${token.get()}`;
  let body;
  if (opts.body !== undefined) {
    if (typeof opts.body === 'string') {
      body = opts.body;
      headers['Content-Type'] = opts.contentType || 'text/plain';
    } else {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] = 'application/json';
    }
  }
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(opts.query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const res = await fetch(url, { method, headers, body, cache: 'no-store', credentials: 'omit' });
  if (opts.raw && res.ok) return res;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && !opts.anonymous && !opts.quiet) onUnauthorized(err);
    throw err;
  }
  return data;
}

export const enc = encodeURIComponent;

// explain says what went wrong in words for the operator.
export function explain(err) {
  if (!(err instanceof ApiError)) return `The engine did not answer: ${err.message}`;
  if (err.off) return `The admin API is off on this engine. ${err.message}`;
  if (err.status === 401) return 'The engine refused this token (not the admin token, or a JWT it cannot verify).';
  if (err.status === 403) return `This JWT is valid but its roles lack ${err.body.required || 'the permission'} (config.json "vbwd": {"roles": ...}).`;
  return err.message;
}
