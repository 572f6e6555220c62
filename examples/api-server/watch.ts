// Watch streams of the example API server: one JSON event per line on a chunked response,
// written as soon as a pod changes, open until the client leaves or `timeoutSeconds` elapses.
import type { RequestContext } from './context.js';
import type { WatchEvent } from './pods.js';
import { intParam, sendStatus, statusObject } from './respond.js';

function line(event: WatchEvent | { type: 'ERROR'; object: unknown }): string {
  return `${JSON.stringify(event)}\n`;
}

/**
 * The events a new watch starts with: every current pod as ADDED (no resourceVersion, or "0",
 * client-go's "any version"), else the changes after that version.
 */
function initialEvents(ctx: RequestContext, namespace: string | undefined): WatchEvent[] | 'expired' | 'invalid' {
  const raw = ctx.query.get('resourceVersion');
  if (raw === null || raw === '' || raw === '0') {
    return ctx.store.list(namespace).map((object) => ({ type: 'ADDED', object }));
  }
  if (!/^\d+$/.test(raw)) return 'invalid';
  return ctx.store.eventsSince(Number(raw), namespace) ?? 'expired';
}

/** Serves a watch of the pods of `namespace`, or of all namespaces when it is undefined. */
export function serveWatch(ctx: RequestContext, namespace: string | undefined): void {
  const { res, store } = ctx;
  const initial = initialEvents(ctx, namespace);
  if (initial === 'invalid') {
    sendStatus(res, 400, `resourceVersion: Invalid value: "${ctx.query.get('resourceVersion')}"`);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  if (initial === 'expired') {
    // kube-apiserver reports a too old version as an ERROR event on a 200 stream.
    res.end(line({ type: 'ERROR', object: statusObject(410, 'too old resource version') }));
    return;
  }
  // Headers go out now, so that a client sees the stream open even before the first event.
  res.flushHeaders();
  for (const event of initial) res.write(line(event));
  const unsubscribe = store.subscribe(namespace, (event) => res.write(line(event)));
  const timeout = intParam(ctx.query, 'timeoutSeconds');
  const timer = timeout === undefined ? undefined : setTimeout(() => res.end(), timeout * 1000);
  res.once('close', () => {
    unsubscribe();
    clearTimeout(timer);
  });
}

/** Whether a list request asks for a watch instead (`?watch=1`, `?watch=true`). */
export function wantsWatch(query: URLSearchParams): boolean {
  const watch = query.get('watch');
  return watch === '1' || watch === 'true';
}
