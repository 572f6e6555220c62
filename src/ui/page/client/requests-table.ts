// Browser code of the live view: the table of finished requests, newest first, rows kept by id so
// that a batch adds rows instead of redrawing the table (see dom.ts for the rules of page/client/).

import type { RequestRow } from '../../wire-types.js';
import { byId, clientOf, el, formatBytes, formatClock, formatMs, statusClassOf, svg } from './dom.js';
import { rowMatches } from './filters.js';
import type { ViewState } from './view-state.js';
import { drawAxis, drawWaterfall, timeAxisOf, type TimeAxis } from './waterfall.js';

/** Rows in the DOM at most; the history may be longer, and the filters reach all of it. */
export function maxTableRows(): number {
  return 500;
}

/** Matching rows, newest first, at most maxTableRows(). */
export function visibleRows(state: ViewState): RequestRow[] {
  const shown: RequestRow[] = [];
  for (let i = state.rows.length - 1; i >= 0 && shown.length < maxTableRows(); i--) {
    const row = state.rows[i]!;
    if (rowMatches(row, state.filters)) shown.push(row);
  }
  return shown;
}

export function statusText(row: RequestRow): string {
  if (row.status === 0) return 'no answer';
  return row.completed || row.kind === 'upgrade' ? String(row.status) : `${row.status} (cut)`;
}

export function createRow(row: RequestRow): HTMLTableRowElement {
  const tr = el('tr');
  tr.dataset.id = String(row.id);
  tr.dataset.auditId = row.auditId;
  tr.dataset.status = statusClassOf(row.status);
  const cells: [string, string, string?][] = [
    ['time', formatClock(row.at)],
    ['client', clientOf(row), row.userAgent],
    ['verb', row.verb || row.method],
    ['resource', row.resource, row.url],
    ['namespace', row.namespace],
    ['name', row.name],
    ['status', statusText(row), row.code],
    ['duration', formatMs(row.ms)],
    ['bytes', `${formatBytes(row.responseBytes)}${row.requestBytes > 0 ? ` ↑${formatBytes(row.requestBytes)}` : ''}`],
    ['audit', row.auditId],
  ];
  for (const [name, text, title] of cells) {
    const td = el('td', `col-${name}`, text);
    if (title !== undefined && title !== '') td.title = title;
    tr.append(td);
  }
  const waterfall = el('td', 'col-waterfall');
  waterfall.append(svg('svg', { class: 'bar', viewBox: '0 0 1000 14', preserveAspectRatio: 'none' }));
  tr.append(waterfall);
  if (statusClassOf(row.status) !== '2xx') tr.classList.add(`status-${statusClassOf(row.status)}`);
  return tr;
}

/** Puts `rows` into `body` in order, reusing the rows already there. */
export function placeRows(body: HTMLElement, rows: readonly RequestRow[], axis: TimeAxis, selected: number | undefined): void {
  const existing = new Map<string, HTMLTableRowElement>();
  for (const tr of body.querySelectorAll<HTMLTableRowElement>(':scope > tr')) existing.set(tr.dataset.id ?? '', tr);
  let cursor = body.firstElementChild;
  for (const row of rows) {
    const key = String(row.id);
    const tr = existing.get(key) ?? createRow(row);
    existing.delete(key);
    const bar = tr.querySelector('svg')!;
    // Redrawn only when the shared axis moved.
    const axisKey = `${axis.mode}/${axis.start}/${axis.span}`;
    if (bar.dataset.axis !== axisKey) {
      drawWaterfall(bar, row, axis);
      bar.dataset.axis = axisKey;
    }
    tr.classList.toggle('selected', row.id === selected);
    if (tr === cursor) cursor = cursor.nextElementSibling;
    else body.insertBefore(tr, cursor);
  }
  for (const stale of existing.values()) stale.remove();
}

export function renderRequests(state: ViewState): void {
  const rows = visibleRows(state);
  const axis = timeAxisOf(rows, state.axis);
  drawAxis(byId('axis'), axis);
  placeRows(byId('requests-body'), rows, axis, state.selected);
  const matching = state.rows.filter((row) => rowMatches(row, state.filters)).length;
  byId('requests-count').textContent = `${matching} of ${state.rows.length} kept (history ${state.history})${rows.length < matching ? `, newest ${rows.length} shown` : ''}`;
  byId('held').textContent = state.paused ? `paused: ${state.held.length} new` : '';
  byId('skipped').textContent = state.skipped > 0 ? `${state.skipped} not shown (more than 500 a second; the charts count them)` : '';
}
