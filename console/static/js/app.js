// The console's shell: a hash router over a few pages, login and logout.
import { api, token, ApiError, setUnauthorizedHandler, explain } from './api.js';
import { h } from './dom.js';
import { pluginsPage } from './plugins.js';
import { pluginPage } from './plugin.js';
import { routesPage } from './routes.js';
import { exchangePage } from './exchange.js';

const main = document.getElementById('main');
const logout = document.getElementById('logout');
let current = null; // the page shown: {stop()} ends its timers
let loginNotice = '';

setUnauthorizedHandler(() => {
  token.clear();
  loginNotice = 'The engine refused the token (expired or revoked?): sign in again.';
  location.hash = '#/login';
});

logout.addEventListener('click', () => {
  token.clear();
  loginNotice = 'Signed out.';
  location.hash = '#/login';
});

function route() {
  if (current && current.stop) current.stop();
  current = null;
  const [page = 'plugins', ...rest] = (location.hash.replace(/^#\/?/, '') || 'plugins').split('/');
  if (!token.get() && page !== 'login') {
    location.hash = '#/login';
    return;
  }
  logout.hidden = !token.get();
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === page);
  main.replaceChildren();
  const arg = decodeURIComponent(rest.join('/'));
  switch (page) {
    case 'login': current = loginPage(main); break;
    case 'plugin': current = pluginPage(main, arg); break;
    case 'routes': current = routesPage(main); break;
    case 'exchange': current = exchangePage(main); break;
    default: current = pluginsPage(main, showNode);
  }
}

function showNode(status) {
  const el = document.getElementById('node');
  if (!status) { el.textContent = ''; return; }
  el.textContent = `node ${status.node} · ${status.ready ? 'ready' : 'not ready: ' + (status.reasons || []).join('; ')}`;
}

function loginPage(root) {
  showNode(null);
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', placeholder: 'VBWD_ADMIN_TOKEN or an admin JWT' });
  const msg = h('div', { id: 'login-msg' });
  const button = h('button', { id: 'login', class: 'primary', type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'card login', novalidate: true },
    h('h1', null, 'Sign in'),
    h('label', { for: 'token' }, 'Admin token or admin JWT'), input, button, msg,
    h('p', { class: 'muted' }, 'The token stays in this tab (session storage) and is sent as an Authorization: Bearer header to the admin API.'));
  const say = (text, kind) => msg.replaceChildren(h('div', { class: `notice ${kind || ''}` }, text));
  if (loginNotice) { say(loginNotice); loginNotice = ''; }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const t = input.value.trim();
    if (!t) { say('Type the admin token or an admin JWT.', 'error'); return; }
    token.set(t);
    button.disabled = true;
    try {
      await api('GET', '/admin/status', { quiet: true });
      location.hash = '#/plugins';
    } catch (err) {
      token.clear();
      say(explain(err), 'error');
    } finally {
      button.disabled = false;
    }
  });
  root.append(form);
  // Say at once when the admin API is off: nothing typed here could work.
  api('GET', '/admin/status', { anonymous: true }).catch((err) => {
    if (err instanceof ApiError && err.off) {
      say(`The admin API is off on this engine. ${err.message}`, 'error');
      input.disabled = button.disabled = true;
    }
  });
  input.focus();
  return null;
}


window.addEventListener('hashchange', route);
route();
