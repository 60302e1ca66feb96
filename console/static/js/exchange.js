// Data exchange: export an exchanger's rows (JSON or CSV download) and
// import rows, by default as a dry run showing the result of every row.
import { api, enc, ApiError, explain } from './api.js';
import { h } from './dom.js';

export function exchangePage(root) {
  const box = h('div', { id: 'exchangers' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h1', null, 'Data exchange'), box);
  api('GET', '/admin/data-exchange').then((r) => {
    const xs = r.exchangers || [];
    box.replaceChildren(...(xs.length ? xs.map(card) : [h('p', { class: 'muted' }, 'No plugin registers an exchanger.')]));
  }).catch((err) => box.replaceChildren(h('div', { class: 'notice error' }, explain(err))));
  return null;
}

function card(x) {
  const preview = h('div', { class: 'export-result' });
  const last = {};
  const format = h('select', { class: 'import-format' }, x.formats.map((f) => h('option', { value: f }, f)));
  const mode = h('select', { class: 'import-mode' }, h('option', { value: 'upsert' }, 'upsert'), h('option', { value: 'replace_all' }, 'replace_all'));
  const dry = h('input', { type: 'checkbox', class: 'import-dry', checked: true });
  const body = h('textarea', { class: 'import-body', placeholder: 'rows: a JSON array of objects, or CSV with a header row' });
  const file = h('input', { type: 'file', class: 'import-file', accept: '.json,.csv,application/json,text/csv' });
  const result = h('div', { class: 'import-result' });
  file.addEventListener('change', async () => {
    const f = file.files[0];
    if (!f) return;
    body.value = await f.text();
    if (/\.csv$/i.test(f.name) && x.formats.includes('csv')) format.value = 'csv';
    if (/\.json$/i.test(f.name)) format.value = 'json';
  });
  async function exportAs(fmt) {
    preview.replaceChildren(h('p', { class: 'muted' }, 'Exporting…'));
    try {
      const res = await api('GET', `/admin/data-exchange/${enc(x.key)}/export`, { query: { format: fmt }, raw: true });
      const text = await res.text();
      last[fmt] = text;
      download(`${x.key}.${fmt}`, text, fmt === 'csv' ? 'text/csv' : 'application/json');
      const lines = text.split('\n');
      const rows = fmt === 'csv' ? Math.max(0, lines.filter((l) => l !== '').length - 1) : JSON.parse(text).length;
      preview.replaceChildren(h('p', { class: 'ok export-summary' }, `Exported ${rows} rows as ${x.key}.${fmt}.`),
        h('pre', { class: 'preview' }, lines.slice(0, 20).join('\n')),
        h('button', { class: 'use-export', onclick: () => { body.value = text; format.value = fmt; } }, 'Import this export (fill the box below)'));
    } catch (err) {
      preview.replaceChildren(h('div', { class: 'notice error' }, explain(err)));
    }
  }
  async function run() {
    result.replaceChildren(h('p', { class: 'muted' }, 'Importing…'));
    let res;
    try {
      res = await api('POST', `/admin/data-exchange/${enc(x.key)}/import`, {
        query: { format: format.value, mode: mode.value, dry_run: dry.checked ? 'true' : '' },
        body: body.value, contentType: format.value === 'csv' ? 'text/csv' : 'application/json' });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 422 || !err.body.exchanger) {
        result.replaceChildren(h('div', { class: 'notice error' }, explain(err)));
        return;
      }
      res = err.body; // row errors: nothing committed
    }
    result.replaceChildren(importResult(res));
  }
  return h('section', { class: 'card exchanger', 'data-key': x.key },
    h('h2', null, x.label || x.key, ' ', h('code', { class: 'muted' }, x.key)),
    h('p', { class: 'muted' }, `plugin ${x.plugin} · natural key ${x.natural_key} · fields ${(x.fields || []).join(', ') || 'any'}`,
      x.pii && x.pii.length ? ` · PII (masked) ${x.pii.join(', ')}` : ''),
    h('div', { class: 'toolbar' }, x.formats.map((f) => h('button', { class: `export-${f}`, onclick: () => exportAs(f) }, `Export ${f.toUpperCase()}`))),
    preview,
    h('h3', null, 'Import'),
    h('div', { class: 'toolbar' }, h('label', null, 'format ', format), h('label', null, 'mode ', mode),
      h('label', null, dry, ' dry run (roll back, report only)'), file),
    body,
    h('div', { class: 'toolbar' }, h('button', { class: 'primary import-run', onclick: run }, 'Run import')),
    result);
}

function importResult(r) {
  const errs = new Map((r.errors || []).map((e) => [e.row, e.error]));
  const shown = Math.min(r.rows || 0, 500);
  const rows = [];
  for (let i = 1; i <= shown; i++) {
    const e = errs.get(i);
    rows.push(h('tr', { class: e ? 'err' : '' }, h('td', null, i), h('td', null, e || (r.dry_run ? 'ok (dry run)' : 'ok'))));
  }
  for (const [row, e] of errs) if (row > shown || row < 1) rows.push(h('tr', { class: 'err' }, h('td', null, row), h('td', null, e)));
  const verdict = r.errors && r.errors.length ? `${r.errors.length} row errors: nothing was committed.`
    : r.committed ? 'Committed.' : r.dry_run ? 'Dry run: rolled back, nothing was changed.' : 'Not committed.';
  return h('div', { class: 'import-summary' },
    h('p', { class: r.errors && r.errors.length ? 'err' : 'ok' },
      `${r.rows} rows · ${r.created} created · ${r.updated} updated · ${r.skipped} skipped (${r.mode}${r.dry_run ? ', dry run' : ''}). ${verdict}`),
    h('div', { class: 'scroll' }, h('table', { class: 'import-rows' }, h('thead', null, h('tr', null, h('th', null, 'Row'), h('th', null, 'Result'))), h('tbody', null, rows))));
}

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
