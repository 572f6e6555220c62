// The proxy's own endpoints, on a listener of their own (--metrics-address): on the proxied
// listener every path belongs to the API server. /metrics is Prometheus text; /healthz says the
// process serves; /readyz also asks the credentials, so a broken plugin shows as not ready.

import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Credentials } from '../credentials/credentials.js';
import type { ProxyMetrics } from '../observe/metrics.js';
import { listen } from './listen.js';

/** How long /readyz waits for credentials (a plugin may be running) before it says no. */
const READY_CHECK_MS = 5_000;

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

async function credentialsProblem(credentials: Credentials): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`credentials: no answer within ${READY_CHECK_MS / 1000} s`), READY_CHECK_MS);
  });
  const asked = Promise.resolve()
    .then(() => credentials.current())
    .then(
      () => undefined,
      (err: unknown) => `credentials: ${err instanceof Error ? err.message : String(err)}`,
    );
  return Promise.race([asked, late]).finally(() => clearTimeout(timer));
}

export async function startMetricsServer(
  address: { readonly host: string; readonly port: number },
  metrics: ProxyMetrics,
  credentials: Credentials,
): Promise<{ server: Server; address: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'method not allowed\n');
    if (path === '/healthz') return text(res, 200, 'ok\n');
    if (path === '/readyz') {
      void credentialsProblem(credentials).then((problem) => (problem === undefined ? text(res, 200, 'ok\n') : text(res, 503, `${problem}\n`)));
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
    text(res, 404, 'not found: /metrics, /healthz and /readyz are served here\n');
  });
  return { server, address: await listen(server, { kind: 'tcp', host: address.host, port: address.port }) };
}
