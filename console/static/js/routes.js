// The route catalogue: every served route with its method, path, what it
// requires (a permission, any signed-in user, nothing) and its plugin.
import { api, explain } from './api.js';
import { h } from './dom.js';

export function routesPage(root) {
  const filter = h('input', { id: 'route-filter', type: 'search', placeholder: 'filter: path, plugin, permission' });
  const box = h('div', { id: 'routes' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h1', null, 'Routes'), h('div', { class: 'toolbar' }, filter,
    h('a', { href: '/openapi.json', target: '_blank', rel: 'noopener' }, 'OpenAPI document')), box);
  let all = [];
  const show = () => {
    const q = filter.value.trim().toLowerCase();
    const rows = all.filter((r) => !q || [r.method, r.path, r.plugin, r.permission, r.summary].join(' ').toLowerCase().includes(q));
    box.replaceChildren(routeTable(rows));
  };
  filter.addEventListener('input', show);
  api('GET', '/admin/routes').then((r) => { all = r.routes || []; show(); }).catch(async (err) => {
    if (!err.missing) { box.replaceChildren(h('div', { class: 'notice error' }, explain(err))); return; }
    // an engine without the catalogue: the plugins' route names, no permissions
    const ps = await api('GET', '/admin/plugins');
    all = ps.plugins.flatMap((p) => (p.routes || []).map((s) => { const [method, path] = s.split(' '); return { method, path, plugin: p.name, unknown: true }; }));
    show();
  });
  return null;
}

export function routeTable(routes) {
  if (routes.length === 0) return h('p', { class: 'muted' }, 'No routes.');
  return h('div', { class: 'scroll' }, h('table', { class: 'routes' },
    h('thead', null, h('tr', null, ['Method', 'Path', 'Requires', 'Plugin', 'Summary'].map((t) => h('th', null, t)))),
    h('tbody', null, routes.map((r) => h('tr', { 'data-route': `${r.method} ${r.path}` },
      h('td', null, h('code', null, r.method)),
      h('td', null, h('code', null, r.path), r.stream ? h('span', { class: 'badge' }, ' stream') : ''),
      h('td', null, requires(r)),
      h('td', null, h('a', { href: `#/plugin/${encodeURIComponent(r.plugin)}` }, r.plugin)),
      h('td', { class: 'muted' }, r.summary || ''))))));
}

function requires(r) {
  if (r.unknown) return h('span', { class: 'muted' }, '?');
  if (r.permission) return h('span', null, 'permission ', h('code', null, r.permission));
  if (r.auth) return 'signed-in user';
  return h('span', { class: 'muted' }, 'public');
}
