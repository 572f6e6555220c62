// Browser code of the live view: the selected request's figures, phases included
// (see dom.ts for the rules of page/client/).

import type { RequestRow } from '../../wire-types.js';
import { byId, el, formatBytes, formatClock, formatMs, phaseOrder } from './dom.js';
import type { ViewState } from './view-state.js';

export function detailLines(row: RequestRow): [string, string][] {
  const lines: [string, string][] = [
    ['request', `${row.method} ${row.url}`],
    ['started', formatClock(row.at)],
    ['client', `${row.userAgent || '(no user agent)'} from ${row.address || '?'}`],
    ['API', [row.verb, row.resource, row.namespace && `in ${row.namespace}`, row.name].filter(Boolean).join(' ')],
    ['status', `${row.status === 0 ? 'no answer' : row.status}${row.completed ? '' : ' (not completed)'}, answered by ${row.answeredBy}${row.code === undefined ? '' : ` (${row.code})`}`],
    ['bytes', `${formatBytes(row.requestBytes)} up, ${formatBytes(row.responseBytes)} down`],
    ['Audit-ID', row.auditId],
  ];
  if (row.protocol !== undefined) lines.push(['protocol', row.protocol]);
  if (row.session !== undefined) lines.push(['session', `${formatMs(row.session.ms)}, closed by ${row.session.closedBy}`]);
  return lines;
}

export function renderDetails(state: ViewState): void {
  const panel = byId('details');
  const row = state.rows.find((candidate) => candidate.id === state.selected);
  panel.hidden = row === undefined;
  if (row === undefined) return;
  panel.dataset.id = String(row.id);
  const list = el('dl');
  for (const [term, value] of detailLines(row)) list.append(el('dt', '', term), el('dd', '', value));
  const phases = el('table', 'phases');
  for (const phase of [...phaseOrder(), 'total'] as const) {
    const ms = phase === 'total' ? row.phases.total : row.phases[phase];
    if (ms === undefined) continue;
    const tr = el('tr');
    tr.dataset.phase = phase;
    tr.append(el('th', phase === 'total' ? '' : `phase-key phase-${phase}`, phase), el('td', '', formatMs(ms)));
    phases.append(tr);
  }
  byId('details-body').replaceChildren(list, phases);
}

/** A click on a row selects it (again: unselects it). */
export function bindSelection(state: ViewState, render: () => void): void {
  byId('requests-body').addEventListener('click', (event) => {
    const tr = (event.target as Element).closest('tr');
    if (tr === null) return;
    const id = Number(tr.dataset.id);
    state.selected = state.selected === id ? undefined : id;
    render();
  });
  byId('details-close').addEventListener('click', () => {
    state.selected = undefined;
    render();
  });
}
