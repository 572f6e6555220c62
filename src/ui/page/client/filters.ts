// Browser code of the live view: the filters over the requests table (see dom.ts for the rules of page/client/).

import type { RequestRow } from '../../wire-types.js';
import { byId, clientOf, el, statusClassOf } from './dom.js';
import type { Filters, ViewState } from './view-state.js';

/** The select elements whose options come from the traffic, by the row field they filter. */
export function filterSelects(): [keyof Filters, (row: RequestRow) => string][] {
  return [
    ['verb', (row) => row.verb],
    ['resource', (row) => row.resource],
    ['namespace', (row) => row.namespace],
    ['client', (row) => clientOf(row)],
  ];
}

export function readFilters(): Filters {
  const value = (id: string) => byId<HTMLInputElement | HTMLSelectElement>(`filter-${id}`).value;
  return { verb: value('verb'), resource: value('resource'), namespace: value('namespace'), status: value('status'), client: value('client'), text: value('text').trim().toLowerCase() };
}

export function rowMatches(row: RequestRow, filters: Filters): boolean {
  if (filters.verb !== '' && row.verb !== filters.verb) return false;
  if (filters.resource !== '' && row.resource !== filters.resource) return false;
  if (filters.namespace !== '' && row.namespace !== filters.namespace) return false;
  if (filters.status !== '' && statusClassOf(row.status) !== filters.status) return false;
  if (filters.client !== '' && clientOf(row) !== filters.client) return false;
  if (filters.text === '') return true;
  const haystack = [row.method, row.url, row.name, row.auditId, row.userAgent, row.address, String(row.status), row.code ?? ''].join(' ').toLowerCase();
  return haystack.includes(filters.text);
}

/** Keeps each select's options to the values seen, the chosen one kept even if it scrolled away. */
export function refreshFilterOptions(state: ViewState): void {
  for (const [name, valueOf] of filterSelects()) {
    const select = byId<HTMLSelectElement>(`filter-${name}`);
    const values = new Set(state.rows.map(valueOf));
    if (select.value !== '') values.add(select.value);
    const wanted = [...values].filter((value) => value !== '').sort();
    const present = [...select.options].slice(1).map((option) => option.value);
    if (wanted.join('\n') === present.join('\n')) continue;
    const chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const value of wanted) {
      const option = el('option', '', value);
      option.value = value;
      select.append(option);
    }
    select.value = chosen;
  }
}

export function bindFilters(state: ViewState, render: () => void): void {
  const form = byId<HTMLFormElement>('filters');
  const changed = () => {
    state.filters = readFilters();
    state.axis = byId<HTMLSelectElement>('axis-mode').value === 'clock' ? 'clock' : 'start';
    render();
  };
  form.addEventListener('input', changed);
  form.addEventListener('change', changed);
  form.addEventListener('submit', (event) => event.preventDefault());
}
