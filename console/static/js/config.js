// A plugin's config editor, generated from its admin-config.json schema:
// one field per property (type, enum, min/max, description as help, the
// default shown); saving PUTs the override and shows each violation the
// engine reports next to its field.
import { api, enc, ApiError, explain } from './api.js';
import { h } from './dom.js';

export async function configEditor(box, name) {
  box.replaceChildren(h('p', { class: 'muted' }, 'Loading config…'));
  let data;
  try {
    data = await api('GET', `/admin/plugins/${enc(name)}/config`);
  } catch (err) {
    box.replaceChildren(h('div', { class: 'notice error' }, explain(err)));
    return;
  }
  const schema = data.schema || {};
  const props = schema.properties || {};
  const required = new Set(schema.required || []);
  const override = data.override || {};
  const merged = data.config || {};
  const fields = Object.keys(props).map((key) => field(key, props[key], required.has(key), override, merged));
  const formMsg = h('div', { id: 'config-msg' });
  const save = h('button', { id: 'config-save', class: 'primary', type: 'submit' }, 'Save');
  const form = h('form', { id: 'config-form', class: 'config', novalidate: true },
    schema.title ? h('p', { class: 'muted' }, schema.title) : '',
    fields.length ? fields.map((f) => f.el) : h('p', { class: 'muted' }, 'This plugin has no admin-config.json: nothing to edit here.'),
    fields.length ? save : '', formMsg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const f of fields) f.violation.replaceChildren();
    formMsg.replaceChildren();
    const out = { ...override };
    let bad = false;
    for (const f of fields) {
      const r = f.read();
      if (r.error) { f.violation.textContent = r.error; bad = true; continue; }
      if (r.unset) delete out[f.key];
      else if (r.set) out[f.key] = r.value;
    }
    if (bad) return;
    save.disabled = true;
    try {
      const res = await api('PUT', `/admin/plugins/${enc(name)}/config`, { body: out });
      await configEditor(box, name);
      document.getElementById('config-msg').replaceChildren(h('div', { class: 'notice ok' },
        res.generation ? `Saved: generation ${res.generation} serves with it.` : 'Saved (the plugin is not enabled: it starts with it).'));
    } catch (err) {
      save.disabled = false;
      showViolations(err, fields, formMsg);
    }
  });
  box.replaceChildren(form);
}

function showViolations(err, fields, formMsg) {
  if (!(err instanceof ApiError) || !err.body.violations) {
    const b = (err && err.body) || {};
    const at = b.file ? `${b.file}${b.line ? ':' + b.line : ''}: ` : '';
    formMsg.replaceChildren(h('div', { class: 'notice error' }, at + (b.message || explain(err)), ' Nothing was saved.'));
    return;
  }
  const byKey = new Map(fields.map((f) => [f.key, f]));
  const rest = [];
  for (const v of err.body.violations) {
    const key = (v.pointer || '').split('/')[1];
    const f = key !== undefined && byKey.get(key.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (f) f.violation.append(h('div', null, v.message));
    else rest.push(h('li', null, h('code', null, v.pointer || '/'), ' ', v.message));
  }
  const n = err.body.violations.length;
  formMsg.replaceChildren(h('div', { class: 'notice error' },
    `${n} ${n === 1 ? 'violation' : 'violations'} of admin-config.json: nothing was saved, the running generation keeps its config.`,
    rest.length ? h('ul', null, rest) : ''));
}

function field(key, s, isRequired, override, merged) {
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  const id = `cfg-${key}`;
  const overridden = Object.prototype.hasOwnProperty.call(override, key);
  const current = overridden ? override[key] : merged[key];
  let dirty = false;
  let input;
  if (Array.isArray(s.enum)) {
    input = h('select', { id, name: key }, s.enum.map((v) => h('option', { value: JSON.stringify(v) }, String(v))));
    input.value = JSON.stringify(current);
  } else if (type === 'boolean') {
    input = h('input', { id, name: key, type: 'checkbox', checked: current === true });
  } else if (type === 'integer' || type === 'number') {
    input = h('input', { id, name: key, type: 'number', step: type === 'integer' ? '1' : 'any',
      min: s.minimum, max: s.maximum, value: current === undefined ? '' : String(current) });
  } else if (type === 'string') {
    input = h('input', { id, name: key, type: 'text', value: current === undefined ? '' : String(current) });
  } else {
    input = h('textarea', { id, name: key, value: current === undefined ? '' : JSON.stringify(current, null, 2) });
  }
  input.addEventListener('input', () => { dirty = true; });
  input.addEventListener('change', () => { dirty = true; });
  let unset = false;
  const reset = overridden ? h('button', { type: 'button', class: 'reset', onclick: () => { unset = true; dirty = false; reset.replaceWith(h('span', { class: 'muted' }, ' (back to the default on save)')); } }, 'Use default') : '';
  const violation = h('div', { class: 'violation', 'data-for': key });
  const el = h('div', { class: 'field', 'data-field': key },
    h('label', { for: id }, s.title || key, isRequired ? ' *' : '', ' ', h('code', { class: 'muted' }, key)),
    input, ' ', reset,
    h('div', { class: 'help' }, [s.description, constraints(s, type), defaultText(s, overridden, merged[key])].filter(Boolean).join(' · ')),
    violation);
  return {
    key, el, violation,
    read() {
      if (unset) return { unset: true };
      if (!dirty && !overridden) return {};
      return parse(input, s, type);
    },
  };
}

function parse(input, s, type) {
  if (Array.isArray(s.enum)) return { set: true, value: JSON.parse(input.value) };
  if (type === 'boolean') return { set: true, value: input.checked };
  const raw = input.value;
  if (raw.trim() === '') return { unset: true };
  if (type === 'integer' || type === 'number') {
    // input.value is '' for text a number input cannot parse; the engine
    // reports what is not an integer (1.5) or out of range
    const n = Number(raw);
    return Number.isFinite(n) ? { set: true, value: n } : { error: `not a number: ${raw}` };
  }
  if (type === 'string') return { set: true, value: raw };
  try { return { set: true, value: JSON.parse(raw) }; } catch (e) { return { error: `not JSON: ${e.message}` }; }
}

function constraints(s, type) {
  const c = [];
  if (s.minimum !== undefined || s.maximum !== undefined) c.push(`range ${s.minimum ?? '−∞'}…${s.maximum ?? '∞'}`);
  if (s.minLength !== undefined || s.maxLength !== undefined) c.push(`length ${s.minLength ?? 0}…${s.maxLength ?? '∞'}`);
  if (s.pattern) c.push(`pattern ${s.pattern}`);
  if (type && !s.enum) c.push(type);
  return c.join(', ');
}

function defaultText(s, overridden, mergedValue) {
  if (s.default !== undefined) return `default: ${JSON.stringify(s.default)}`;
  if (!overridden && mergedValue !== undefined) return `default (plugin config.json): ${JSON.stringify(mergedValue)}`;
  if (overridden) return 'overridden in the root config.json';
  return '';
}
