// Browser code of the live view: the Server-Sent Events connection (see dom.ts for the rules of page/client/).

import type { Snapshot, Update } from '../../wire-types.js';
import { byId } from './dom.js';
import { renderAll } from './live-view.js';
import { applySnapshot, applyUpdate, type ViewState } from './view-state.js';

/** Shows the connection's state in the header, and to tests as `body[data-connection]`. */
export function showConnection(state: 'connecting' | 'live' | 'reconnecting'): void {
  document.body.dataset.connection = state;
  byId('connection').textContent = state === 'live' ? '● live' : state === 'connecting' ? 'connecting…' : 'reconnecting…';
}

/** Follows `events` (next to the page): a snapshot on every (re)connection, then batched updates. */
export function connectFeed(state: ViewState): EventSource {
  showConnection('connecting');
  const source = new EventSource('events');
  source.addEventListener('snapshot', (message: MessageEvent<string>) => {
    applySnapshot(state, JSON.parse(message.data) as Snapshot);
    showConnection('live');
    renderAll(state);
  });
  source.addEventListener('update', (message: MessageEvent<string>) => {
    applyUpdate(state, JSON.parse(message.data) as Update);
    renderAll(state);
  });
  source.addEventListener('error', () => showConnection('reconnecting'));
  return source;
}
