// h builds an element: h('td', {class: 'x', onclick: fn}, child, 'text', [more]).
// Text is always set as text (never parsed as HTML).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'hidden') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// where formats an error location as file:line.
export function where(file, line) {
  if (!file) return '';
  return line ? `${file}:${line}` : file;
}

export function list(items) {
  if (!items || items.length === 0) return h('span', { class: 'muted' }, '—');
  return items.join(', ');
}
