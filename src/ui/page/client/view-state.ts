// Browser code of the live view: what the page holds (see dom.ts for the rules of page/client/).

import type { RequestRow, Snapshot, StreamRow, TrafficSummary, Update } from '../../wire-types.js';

export interface Filters {
  verb: string;
  resource: string;
  namespace: string;
  status: string;
  client: string;
  text: string;
}

export interface ViewState {
  /** Finished requests, oldest first, at most `history`. */
  rows: RequestRow[];
  ids: Set<number>;
  history: number;
  streams: readonly StreamRow[];
  summary: TrafficSummary | undefined;
  paused: boolean;
  /** Rows that arrived while paused, shown on resume. */
  held: RequestRow[];
  selected: number | undefined;
  filters: Filters;
  /** How the waterfall places bars (waterfall.ts). */
  axis: 'start' | 'clock';
  /** Requests the server left out of batches since the page opened (a busy proxy). */
  skipped: number;
}

export function createViewState(): ViewState {
  return {
    rows: [],
    ids: new Set(),
    history: 1000,
    streams: [],
    summary: undefined,
    paused: false,
    held: [],
    selected: undefined,
    filters: { verb: '', resource: '', namespace: '', status: '', client: '', text: '' },
    skipped: 0,
    axis: 'start',
  };
}

/** Appends rows not seen yet (a batch may repeat the end of the snapshot), dropping the oldest beyond `history`. */
export function addRows(state: ViewState, rows: readonly RequestRow[]): void {
  for (const row of rows) {
    if (state.ids.has(row.id)) continue;
    state.ids.add(row.id);
    state.rows.push(row);
  }
  const excess = state.rows.length - state.history;
  if (excess > 0) for (const dropped of state.rows.splice(0, excess)) state.ids.delete(dropped.id);
}

export function applySnapshot(state: ViewState, snapshot: Snapshot): void {
  state.history = snapshot.history;
  state.rows = [];
  state.ids = new Set();
  state.held = [];
  addRows(state, snapshot.rows);
  state.streams = snapshot.streams;
  state.summary = snapshot.summary;
}

export function applyUpdate(state: ViewState, update: Update): void {
  if (state.paused) state.held.push(...update.rows);
  else addRows(state, update.rows);
  state.streams = update.streams;
  state.skipped += update.skipped ?? 0;
  if (update.summary !== undefined) state.summary = update.summary;
}

/** Resume: the rows held while paused join the table. */
export function resume(state: ViewState): void {
  state.paused = false;
  addRows(state, state.held);
  state.held = [];
}
