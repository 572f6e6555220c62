// An HTTPS "API server" for upgrade tests: it answers upgrades by path, records what it saw
// (headers, the client certificate's CN) and, for the sessions it accepts, keeps the socket, a
// count and a sha256 of the bytes it read after the 101, so that tests can check a stream,
// hang up from the server side, or see the proxy hang up.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Test } from 'tap';
import { stringify } from 'yaml';
import { createPki, writePki, type Pki } from '../../examples/pki.js';

/** What the upstream saw of one upgrade request, and the session when it answered 101. */
export interface UpgradeSeen {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  /** CN of the client certificate presented on this connection (with `requestCert` only). */
  readonly clientCertCN: string | undefined;
  /** The upstream's side of the connection. */
  readonly socket: Socket;
  /** Resolves when that socket has closed. */
  readonly closed: Promise<void>;
  /** Bytes read after the 101 (echo and port-forward sessions). */
  received(): number;
  /** sha256 (hex) of those bytes. */
  receivedSha256(): string;
}

export interface UpgradeUpstream {
  readonly server: Server;
  readonly port: number;
  readonly seen: UpgradeSeen[];
}

export interface UpgradeUpstreamOptions {
  /** Ask for a client certificate (any, unverified: the test reads its CN). */
  readonly requestCert?: boolean;
}

/** `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2). */
function websocketAccept(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/** A 101 for a port-forward request in the protocol it asked for: WebSocket or SPDY/3.1. */
function portForwardAnswer(headers: IncomingHttpHeaders): string {
  if (String(headers.upgrade).toLowerCase() === 'websocket') {
    const protocol = String(headers['sec-websocket-protocol'] ?? '').split(',')[0]!.trim();
    return [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${websocketAccept(String(headers['sec-websocket-key'] ?? ''))}`,
      ...(protocol === '' ? [] : [`Sec-WebSocket-Protocol: ${protocol}`]),
      '',
      '',
    ].join('\r\n');
  }
  return 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n';
}

/**
 * An HTTPS server whose upgrade answer depends on the path:
 * - `/echo…` → 101 SPDY/3.1, `early-bytes|` right behind the head, then every byte echoed;
 * - `…/portforward…` → 101 in the requested protocol (WebSocket or SPDY/3.1), then every byte echoed;
 * - `/hang…` → no answer; `/reset…` → a partial 403 then a reset; `/refuse…` → 403 with a Status body;
 * - anything else → 200.
 */
export async function startUpgradeUpstream(t: Test, pki: Pki, options: UpgradeUpstreamOptions = {}): Promise<UpgradeUpstream> {
  const seen: UpgradeSeen[] = [];
  const server = createServer({
    cert: pki.serverCert,
    key: pki.serverKey,
    ...(options.requestCert === true ? { requestCert: true, rejectUnauthorized: false } : {}),
  });
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    const hash = createHash('sha256');
    let received = 0;
    const cn = options.requestCert === true ? (socket as TLSSocket).getPeerCertificate().subject?.CN : undefined;
    seen.push({
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      clientCertCN: typeof cn === 'string' ? cn : undefined,
      socket,
      closed: new Promise((resolve) => socket.once('close', () => resolve())),
      received: () => received,
      receivedSha256: () => hash.copy().digest('hex'),
    });
    socket.on('error', () => socket.destroy());
    const echo = (answer: string) => {
      socket.write(answer);
      socket.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
      });
      if (head.length > 0) {
        hash.update(head);
        received += head.length;
        socket.write(head);
      }
      socket.pipe(socket);
    };
    if (req.url?.startsWith('/echo')) {
      echo('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\nearly-bytes|');
    } else if (req.url?.includes('/portforward')) {
      echo(portForwardAnswer(req.headers));
    } else if (req.url?.startsWith('/hang')) {
      // never answers
    } else if (req.url?.startsWith('/reset')) {
      socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 1000\r\n\r\npartial');
      setImmediate(() => socket.destroy());
    } else if (req.url?.startsWith('/refuse')) {
      const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'pods "p" is forbidden', reason: 'Forbidden', code: 403 });
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    } else {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { server, port: (server.address() as { port: number }).port, seen };
}

export interface UpgradeSetup {
  readonly dir: string;
  readonly pki: Pki;
  readonly files: ReturnType<typeof writePki>;
  readonly upstream: UpgradeUpstream;
  /** A kubeconfig for the upstream whose user is `user` (default: token `upgrade-token`). */
  readonly kubeconfig: string;
}

/** A PKI, the upgrade upstream and a kubeconfig for it. */
export async function upgradeSetup(
  t: Test,
  options: UpgradeUpstreamOptions & { user?: (files: ReturnType<typeof writePki>) => Record<string, unknown> } = {},
): Promise<UpgradeSetup> {
  const dir = t.testdir({});
  const pki = createPki();
  const files = writePki(`${dir}/pki`, pki);
  const upstream = await startUpgradeUpstream(t, pki, options);
  const kubeconfig = `${dir}/kubeconfig`;
  writeFileSync(kubeconfig, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'k', cluster: { server: `https://127.0.0.1:${upstream.port}`, 'certificate-authority': files.caCert } }],
    users: [{ name: 'u', user: options.user?.(files) ?? { token: 'upgrade-token' } }],
    contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
  }));
  return { dir, pki, files, upstream, kubeconfig };
}
