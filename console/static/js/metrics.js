// Requests/s and p95 latency per plugin from the Prometheus text of
// /metrics (vbwd_http_requests_total and the request duration histogram).
export function parseMetrics(text) {
  const per = {};
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = line.match(/^(\w+)\{(.*)\}\s+(\S+)(?:\s+\S+)?$/); // label values may hold } (route="/{id}")
    if (!m) continue;
    const [, name, labels, value] = m;
    if (name !== 'vbwd_http_requests_total' && name !== 'vbwd_http_request_duration_seconds_bucket') continue;
    const l = {};
    for (const p of labels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) l[p[1]] = p[2];
    if (!l.plugin) continue;
    const e = per[l.plugin] || (per[l.plugin] = { total: 0, buckets: new Map() });
    const v = Number(value);
    if (name === 'vbwd_http_requests_total') e.total += v;
    else {
      const le = l.le === '+Inf' ? Infinity : Number(l.le);
      e.buckets.set(le, (e.buckets.get(le) || 0) + v);
    }
  }
  return per;
}

// quantile estimates a quantile from cumulative buckets (le → count),
// interpolating inside the bucket as Prometheus' histogram_quantile does.
export function quantile(q, buckets) {
  const les = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) || 0;
  if (!total) return null;
  const target = q * total;
  let prevLe = 0, prevCount = 0;
  for (const le of les) {
    const c = buckets.get(le);
    if (c >= target) {
      if (le === Infinity) return prevLe;
      return prevLe + (le - prevLe) * ((target - prevCount) / Math.max(c - prevCount, 1e-9));
    }
    prevLe = le; prevCount = c;
  }
  return null;
}

// Sampler turns successive scrapes into rates: requests/s since the last
// scrape and the p95 of the requests in between (of all requests when
// none came in between).
export class Sampler {
  constructor() { this.prev = null; }
  sample(text, now = performance.now()) {
    const cur = parseMetrics(text);
    const out = {};
    for (const [plugin, e] of Object.entries(cur)) {
      const p = this.prev && this.prev.per[plugin];
      const dt = this.prev ? (now - this.prev.t) / 1000 : 0;
      let rps = null, window = e.buckets;
      if (p && dt > 0) {
        rps = Math.max(0, (e.total - p.total) / dt);
        const d = new Map();
        for (const [le, c] of e.buckets) d.set(le, c - (p.buckets.get(le) || 0));
        if ((d.get(Infinity) || 0) > 0) window = d;
      }
      out[plugin] = { rps, p95: quantile(0.95, window), total: e.total };
    }
    this.prev = { t: now, per: cur };
    return out;
  }
}
