// Browser code of the live view: the streams open now, with their age and bytes each way
// (see dom.ts for the rules of page/client/).

import type { StreamRow } from '../../wire-types.js';
import { byId, clientOf, el, formatBytes, formatMs } from './dom.js';
import type { ViewState } from './view-state.js';

/** `watch`, `log`, `exec (websocket)`, `portforward (SPDY/3.1)`…: what kind of stream it is. */
export function streamKind(stream: StreamRow): string {
  if (stream.kind === 'upgrade') {
    const what = stream.resource.split('/')[1] ?? 'upgrade';
    return stream.protocol === undefined ? what : `${what} (${stream.protocol})`;
  }
  return stream.verb === 'watch' ? 'watch' : (stream.resource.split('/')[1] ?? 'stream');
}

export function renderStreams(state: ViewState): void {
  const body = byId('streams-body');
  const now = Date.now();
  const rows = state.streams.map((stream) => {
    const tr = el('tr');
    tr.dataset.id = String(stream.id);
    tr.dataset.auditId = stream.auditId;
    const cells: [string, string, string?][] = [
      ['kind', streamKind(stream)],
      ['client', clientOf(stream), stream.userAgent],
      ['verb', stream.verb],
      ['resource', stream.resource, stream.url],
      ['namespace', stream.namespace],
      ['name', stream.name],
      ['age', formatMs(Math.max(0, now - stream.at))],
      ['up', formatBytes(stream.bytesToUpstream)],
      ['down', formatBytes(stream.bytesToClient)],
      ['audit', stream.auditId],
    ];
    for (const [name, text, title] of cells) {
      const td = el('td', `col-${name}`, text);
      if (title !== undefined) td.title = title;
      tr.append(td);
    }
    return tr;
  });
  body.replaceChildren(...rows);
  byId('streams-count').textContent = String(state.streams.length);
  byId('streams-empty').hidden = state.streams.length > 0;
}
