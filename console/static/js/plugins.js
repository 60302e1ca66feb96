// The plugins table: state, generations, dependencies, pool, traffic and
// nodes, refreshed live, with reload / enable / disable / rescan.
import { api, enc, ApiError, explain } from './api.js';
import { h, where, list } from './dom.js';
import { Sampler } from './metrics.js';

const REFRESH_MS = 3000;

export function pluginsPage(root, showNode) {
  const messages = new Map(); // plugin → {kind, node}: kept across refreshes until dismissed
  const sampler = new Sampler();
  let plugins = [], details = {}, traffic = {}, timer = null, stopped = false;

  const live = h('input', { type: 'checkbox', id: 'live', checked: true });
  const pageMsg = h('div', { id: 'page-msg' });
  const tbody = h('tbody', { id: 'plugins-body' });
  const updated = h('span', { class: 'muted', id: 'updated' });
  root.append(
    h('h1', null, 'Plugins'),
    h('div', { class: 'toolbar' },
      h('button', { id: 'rescan', onclick: rescan }, 'Rescan plugins/'),
      h('label', null, live, ' live refresh'), updated),
    pageMsg,
    h('div', { class: 'scroll' }, h('table', { id: 'plugins' },
      h('thead', null, h('tr', null, ['Plugin', 'Version', 'State', 'Generation', 'Depends on', 'Dependents', 'Routes',
        'Pool in use / size', 'Req/s', 'p95', 'Nodes', 'Actions'].map((t) => h('th', null, t)))),
      tbody)));

  live.addEventListener('change', () => { if (live.checked) refresh(); });

  async function refresh() {
    clearTimeout(timer);
    try {
      const [list, status, metrics] = await Promise.all([
        api('GET', '/admin/plugins'),
        api('GET', '/admin/status').catch(() => null),
        fetch('/metrics', { cache: 'no-store' }).then((r) => (r.ok ? r.text() : '')).catch(() => ''),
      ]);
      plugins = list.plugins || [];
      showNode(status);
      if (metrics) traffic = sampler.sample(metrics);
      const ds = await Promise.all(plugins.map((p) => api('GET', `/admin/plugins/${enc(p.name)}`).catch(() => null)));
      details = Object.fromEntries(plugins.map((p, i) => [p.name, ds[i]]));
      render();
      updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (!stopped) pageMsg.replaceChildren(h('div', { class: 'notice error' }, explain(err)));
    }
    if (!stopped && live.checked) timer = setTimeout(refresh, REFRESH_MS);
  }

  function render() {
    const rows = [];
    for (const p of plugins) {
      rows.push(row(p));
      const m = messages.get(p.name);
      if (m) rows.push(h('tr', { class: `msg ${m.kind}`, 'data-msg-for': p.name },
        h('td', { colspan: 12 }, m.node, ' ', h('button', { class: 'dismiss', onclick: () => { messages.delete(p.name); render(); } }, 'Dismiss'))));
    }
    tbody.replaceChildren(...rows);
  }

  function row(p) {
    const d = details[p.name] || {};
    const t = traffic[p.name] || {};
    const pool = p.pool ? `${p.pool.in_use} / ${p.pool.size} (max ${p.pool.max})` : '—';
    const nodes = d.nodes && d.nodes.length ? h('span', null, `${d.nodes.length}`,
      d.hash_mismatch ? h('span', { class: 'badge err', title: 'nodes run different files' }, ' hash mismatch') : '') : h('span', { class: 'muted' }, '1');
    return h('tr', { 'data-plugin': p.name },
      h('td', null, h('a', { href: `#/plugin/${enc(p.name)}` }, p.name)),
      h('td', null, p.version || ''),
      h('td', { class: 'state' }, stateCell(p)),
      h('td', null, p.generation || '—'),
      h('td', null, list(p.dependencies)),
      h('td', null, list(p.dependents)),
      h('td', { title: (p.routes || []).join('\n') }, String((p.routes || []).length)),
      h('td', null, pool),
      h('td', { class: 'rps' }, t.rps == null ? '—' : t.rps.toFixed(1)),
      h('td', { class: 'p95' }, t.p95 == null ? '—' : `${(t.p95 * 1000).toFixed(1)} ms`),
      h('td', null, nodes),
      h('td', { class: 'actions' }, actions(p)));
  }

  function stateCell(p) {
    return [
      h('span', { class: `badge state-${p.state}` }, p.state),
      p.outdated ? h('span', { class: 'badge outdated', title: 'the last reload failed; the generation serving is older than the files' }, ' older generation serving') : '',
      p.error ? h('div', { class: 'err small' }, where(p.error_file, p.error_line) ? h('code', null, where(p.error_file, p.error_line)) : '', ' ', p.error) : '',
    ];
  }

  function actions(p) {
    const enabled = p.state === 'enabled';
    return [
      h('button', { class: 'reload', onclick: () => reload(p), disabled: !enabled && p.state !== 'failed' }, 'Reload'),
      enabled
        ? h('button', { class: 'disable danger', onclick: () => disable(p, false) }, 'Disable')
        : h('button', { class: 'enable', onclick: () => enable(p) }, 'Enable'),
    ];
  }

  function say(name, kind, ...content) {
    messages.set(name, { kind, node: h('span', { class: 'msg-text' }, ...content) });
    render();
  }

  async function reload(p) {
    say(p.name, '', `Reloading ${p.name}…`);
    try {
      const r = await api('POST', `/admin/plugins/${enc(p.name)}/reload`);
      say(p.name, 'ok', r.status === 'unchanged' ? `${p.name}: unchanged (generation ${r.generation})` : `${p.name} reloaded: generation ${r.generation} serves.`);
    } catch (err) {
      // what serves now, not what the row showed when it was clicked
      const now = await api('GET', `/admin/plugins/${enc(p.name)}`).catch(() => p);
      say(p.name, 'error', ...failure(err, now));
    }
    refresh();
  }

  async function enable(p) {
    try {
      await api('POST', `/admin/plugins/${enc(p.name)}/enable`);
      say(p.name, 'ok', `${p.name} enabled.`);
    } catch (err) {
      say(p.name, 'error', ...failure(err, p));
    }
    refresh();
  }

  async function disable(p, cascade) {
    const deps = p.dependents || [];
    if (deps.length && !cascade) return confirmCascade(p, deps);
    try {
      await api('POST', `/admin/plugins/${enc(p.name)}/disable`, { query: { cascade: cascade ? 'true' : '' } });
      say(p.name, 'ok', cascade && deps.length ? `${p.name} disabled, with ${deps.join(', ')}.` : `${p.name} disabled.`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && err.body.dependents) return confirmCascade(p, err.body.dependents);
      say(p.name, 'error', ...failure(err, p));
    }
    refresh();
  }

  function confirmCascade(p, deps) {
    say(p.name, '', `${deps.join(', ')} ${deps.length === 1 ? 'depends' : 'depend'} on ${p.name}: disabling ${p.name} disables ${deps.length === 1 ? 'it' : 'them'} too. `,
      h('button', { class: 'cascade danger', onclick: () => disable({ ...p, dependents: deps }, true) }, `Disable ${p.name} and ${deps.join(', ')}`));
  }

  async function rescan() {
    pageMsg.replaceChildren(h('div', { class: 'notice' }, 'Rescanning…'));
    try {
      const r = await api('POST', '/admin/plugins/reload');
      const parts = ['added', 'removed', 'enabled', 'disabled', 'reloaded'].filter((k) => r[k] && r[k].length).map((k) => `${k}: ${r[k].join(', ')}`);
      const errs = Object.entries(r.errors || {}).map(([n, e]) => h('div', { class: 'err' }, `${n}: ${e}`));
      pageMsg.replaceChildren(h('div', { class: `notice ${errs.length ? 'error' : 'ok'}`, id: 'rescan-result' },
        parts.length ? `Rescan: ${parts.join('; ')}.` : 'Rescan: nothing changed.', errs));
    } catch (err) {
      pageMsg.replaceChildren(h('div', { class: 'notice error' }, explain(err)));
    }
    refresh();
  }

  refresh();
  return { stop() { stopped = true; clearTimeout(timer); } };
}

// failure explains an admin error: a plugin's file error with file:line
// (and, for a reload, that the old generation still serves).
export function failure(err, p) {
  if (!(err instanceof ApiError) || err.status !== 422) return [explain(err)];
  const b = err.body;
  const out = [];
  if (b.file) out.push(h('code', { class: 'where' }, where(b.file, b.line)), ' ');
  out.push(b.message || b.error || err.message);
  if (b.violations) out.push(h('ul', null, b.violations.map((v) => h('li', null, h('code', null, v.pointer || '/'), ' ', v.message))));
  if (b.chain) out.push(` (chain: ${b.chain.join(' → ')})`);
  if (p && p.state === 'enabled' && p.generation) {
    out.push(h('div', { class: 'still-serving' }, `The old generation (${p.generation}) is still serving.`));
  }
  return out;
}
