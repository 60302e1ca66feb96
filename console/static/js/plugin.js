// One plugin: status, nodes, what it registers, its routes, its config
// editor and its recent Lua errors.
import { api, enc, explain } from './api.js';
import { h, where, list } from './dom.js';
import { configEditor } from './config.js';
import { routeTable } from './routes.js';

export function pluginPage(root, name) {
  const head = h('div', { id: 'plugin-head' }, h('p', { class: 'muted' }, 'Loading…'));
  const regs = h('div', { id: 'plugin-regs' });
  const routes = h('div', { id: 'plugin-routes' });
  const config = h('div', { id: 'plugin-config' });
  const errors = h('div', { id: 'plugin-errors' });
  root.append(h('p', null, h('a', { href: '#/plugins' }, '← Plugins')), h('h1', null, name), head,
    h('div', { class: 'grid' },
      h('section', { class: 'card' }, h('h2', null, 'Events, services and more'), regs),
      h('section', { class: 'card' }, h('h2', null, 'Config'), config)),
    h('section', { class: 'card' }, h('h2', null, 'Routes'), routes),
    h('section', { class: 'card' }, h('h2', null, 'Recent Lua errors'), h('button', { id: 'errors-refresh', onclick: () => loadErrors(name, errors) }, 'Refresh'), errors));
  load();
  configEditor(config, name);
  loadErrors(name, errors);

  async function load() {
    let st;
    try {
      st = await api('GET', `/admin/plugins/${enc(name)}`);
    } catch (err) {
      head.replaceChildren(h('div', { class: 'notice error' }, explain(err)));
      return;
    }
    head.replaceChildren(h('div', { class: 'card' }, h('dl', { class: 'kv' },
      kv('State', h('span', null, h('span', { class: `badge state-${st.state}` }, st.state), st.outdated ? h('span', { class: 'badge outdated' }, ' older generation serving') : '')),
      st.error ? kv('Last error', h('span', { class: 'err' }, h('code', null, where(st.error_file, st.error_line)), ' ', st.error)) : null,
      kv('Version', st.version || '—'), kv('Description', st.description || '—'),
      kv('Generation', st.generation || '—'), kv('Content hash', h('code', null, (st.hash || '').slice(0, 16))),
      kv('Loaded', st.loaded_at || '—'), kv('URL prefix', st.url_prefix || '—'),
      kv('Depends on', list(st.dependencies)), kv('Dependents', list(st.dependents)),
      kv('Pool', st.pool ? `${st.pool.in_use} in use / ${st.pool.size} states (max ${st.pool.max}), ${st.pool.waits} waits, ${st.pool.discards} discarded` : '—'),
      kv('Nodes', nodeTable(st)))));
    regs.replaceChildren(h('dl', { class: 'kv' },
      kv('Events handled', list(st.events)), kv('Services provided', list(st.services)),
      kv('Exchangers', list(st.exchangers)), kv('Jobs', list(st.jobs)), kv('Permissions', list(st.permissions))));
    try {
      const all = await api('GET', '/admin/routes');
      routes.replaceChildren(routeTable((all.routes || []).filter((r) => r.plugin === name)));
    } catch (err) {
      routes.replaceChildren(h('ul', null, (st.routes || []).map((r) => h('li', null, h('code', null, r)))),
        h('p', { class: 'muted' }, err.missing ? 'This engine has no GET /admin/routes: permissions are not shown.' : explain(err)));
    }
  }
}

function kv(k, v) { return v === null ? null : [h('dt', null, k), h('dd', null, v)]; }

function nodeTable(st) {
  if (!st.nodes || st.nodes.length === 0) return h('span', { class: 'muted' }, `${st.node || 'this node'} only`);
  return h('div', null,
    st.hash_mismatch ? h('div', { class: 'err', id: 'hash-mismatch' }, 'Hash mismatch: the nodes run different files of this plugin.') : '',
    h('table', null, h('thead', null, h('tr', null, ['Node', 'State', 'Generation', 'Hash', 'Updated'].map((t) => h('th', null, t)))),
      h('tbody', null, st.nodes.map((n) => h('tr', null, h('td', null, n.node === st.node ? `${n.node} (this)` : n.node), h('td', null, n.state),
        h('td', null, n.generation), h('td', { class: n.hash === st.hash ? '' : 'err' }, h('code', null, (n.hash || '').slice(0, 16))), h('td', null, n.updated_at))))));
}

async function loadErrors(name, box) {
  try {
    const r = await api('GET', `/admin/plugins/${enc(name)}/errors`);
    const errs = r.errors || [];
    box.replaceChildren(errs.length === 0 ? h('p', { class: 'muted', id: 'no-errors' }, 'No Lua errors since the engine started.') :
      h('div', { class: 'scroll' }, h('table', { id: 'errors' },
        h('thead', null, h('tr', null, ['Time', 'Request id', 'Route', 'Gen', 'Kind', 'Where', 'Message'].map((t) => h('th', null, t)))),
        h('tbody', null, errs.map((e) => h('tr', null, h('td', null, e.time), h('td', null, h('code', null, e.request_id || '—')), h('td', null, e.route || '—'),
          h('td', null, e.generation || ''), h('td', null, e.kind || ''), h('td', null, h('code', null, where(e.file, e.line) || '—')), h('td', { class: 'err' }, e.message)))))));
  } catch (err) {
    box.replaceChildren(h('p', { class: 'muted' }, err.missing ? 'This engine has no GET /admin/plugins/{name}/errors.' : explain(err)));
  }
}
