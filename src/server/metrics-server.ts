// The proxy's own endpoints, on a listener of their own (--metrics-address): on the proxied
// listener every path belongs to the API server. /metrics is Prometheus text; /healthz says the
// process serves; /readyz also asks the credentials, so a broken plugin shows as not ready, and
// whether the API server can be reached with them (upstream/upstream-health.ts).

import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Credentials, TlsIdentity } from '../credentials/credentials.js';
import type { ProxyMetrics } from '../observe/metrics.js';
import type { UiRoutes } from '../ui/ui-routes.js';
import { listen } from './listen.js';

/** How long /readyz waits for credentials (a plugin may be running) and the API server before it says no. */
const READY_CHECK_MS = 5_000;

/** Whether the API server can be reached: undefined when it can, else why not. Cheap and bounded (upstream-health.ts). */
export interface UpstreamReadiness {
  problem(identity: TlsIdentity | undefined): Promise<string | undefined>;
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/**
 * Why the proxy cannot serve now, or undefined. Ready means both: credentials can be had, and the
 * API server answers (a proxy whose upstream refuses or is frozen can only answer 503s, and
 * /readyz says so, naming the cause). The second check uses the credentials' TLS identity.
 */
async function readinessProblem(credentials: Credentials, upstream: UpstreamReadiness | undefined): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let asking = 'credentials';
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`${asking}: no answer within ${READY_CHECK_MS / 1000} s`), READY_CHECK_MS);
  });
  const asked = Promise.resolve()
    .then(() => credentials.current())
    .then(
      async (material) => {
        asking = 'API server';
        const problem = await upstream?.problem(material.tlsIdentity);
        return problem === undefined ? undefined : `API server: ${problem}`;
      },
      (err: unknown) => `credentials: ${err instanceof Error ? err.message : String(err)}`,
    );
  return Promise.race([asked, late]).finally(() => clearTimeout(timer));
}

export async function startMetricsServer(
  address: { readonly host: string; readonly port: number },
  metrics: ProxyMetrics,
  credentials: Credentials,
  upstream?: UpstreamReadiness,
  ui?: UiRoutes,
): Promise<{ server: Server; address: string }> {
  const server = createServer((req, res) => {
    // --ui: the live view, behind guards of its own (ui/ui-routes.ts).
    if (ui?.handles(req) === true) return ui.serve(req, res);
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'method not allowed\n');
    if (path === '/healthz') return text(res, 200, 'ok\n');
    if (path === '/readyz') {
      void readinessProblem(credentials, upstream).then((problem) => (problem === undefined ? text(res, 200, 'ok\n') : text(res, 503, `${problem}\n`)));
      return;
    }
    if (path === '/metrics') {
      void metrics.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType, 'content-length': Buffer.byteLength(body) });
          res.end(body);
        },
        () => text(res, 500, 'metrics unavailable\n'),
      );
      return;
    }
    text(res, 404, `not found: ${ui === undefined ? '/metrics, /healthz and /readyz' : '/metrics, /healthz, /readyz and /ui/'} are served here\n`);
  });
  return { server, address: await listen(server, { kind: 'tcp', host: address.host, port: address.port }) };
}
