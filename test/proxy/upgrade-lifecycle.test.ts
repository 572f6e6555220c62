// The life of an upgraded session through the built proxy: multi-megabyte port-forward streams
// both ways at once (WebSocket and SPDY/3.1), either side hanging up mid-stream (both sockets
// closed, none left in the proxy), SIGTERM with a live session, an idle session outliving
// Node's keep-alive timeout, the credentials the API server sees, and hop-by-hop headers.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { promisify } from 'node:util';
import t from 'tap';
import { SHUTDOWN_GRACE_MS } from '../../src/config/defaults.js';
import { withTimeout } from '../helpers/waiting.js';
import { isolatedEnv, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { upgradeSetup, type UpgradeSeen, type UpgradeUpstream } from '../helpers/upgrade-upstream.js';

const run = promisify(execFile);

const PORT_FORWARD = '/api/v1/namespaces/default/pods/p/portforward?ports=80';
const WEBSOCKET_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
/** RFC 6455's example answer for {@link WEBSOCKET_KEY}. */
const WEBSOCKET_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
const WEBSOCKET = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${WEBSOCKET_KEY}`, 'Sec-WebSocket-Protocol: v4.channel.k8s.io, portforward.k8s.io'];
const SPDY = ['Connection: Upgrade', 'Upgrade: SPDY/3.1', 'X-Stream-Protocol-Version: portforward.k8s.io'];
const MIB = 1024 * 1024;

/** The client's side of an upgraded session: what it has read after the 101, and when it closed. */
interface ClientSession {
  readonly socket: Socket;
  readonly status: number;
  readonly head: string;
  /** Bytes read after the response head. */
  received(): number;
  receivedSha256(): string;
  /** Resolves once at least `bytes` have been read; rejects after `ms`. */
  receivedAtLeast(bytes: number, ms: number): Promise<void>;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  /** Resolves when the proxy has ended its side (FIN). */
  readonly ended: Promise<void>;
}

/** Sends an upgrade request and resolves once the response head is in (bounded). */
function openUpgrade(port: number, path: string, headers: readonly string[], options: { allowHalfOpen?: boolean } = {}): Promise<ClientSession> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
  return withTimeout(
    new Promise<ClientSession>((resolve, reject) => {
      let buffered = Buffer.alloc(0);
      const onHead = (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onHead);
        socket.off('error', reject);
        socket.on('error', () => undefined);
        const head = buffered.subarray(0, end).toString('latin1');
        const hash = createHash('sha256');
        let count = 0;
        const waiters: { bytes: number; resolve: () => void }[] = [];
        const take = (data: Buffer) => {
          hash.update(data);
          count += data.length;
          for (const waiter of waiters.filter((w) => count >= w.bytes)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        };
        take(buffered.subarray(end + 4));
        socket.on('data', take);
        resolve({
          socket,
          head,
          status: Number(head.split(' ')[1]),
          received: () => count,
          receivedSha256: () => hash.copy().digest('hex'),
          receivedAtLeast: (bytes, ms) =>
            withTimeout(
              count >= bytes ? Promise.resolve() : new Promise<void>((done) => waiters.push({ bytes, resolve: done })),
              ms,
              `client reading ${bytes} bytes (has ${count})`,
            ),
          closed,
          ended,
        });
      };
      socket.on('data', onHead);
      socket.on('error', reject);
      socket.write([`GET ${path} HTTP/1.1`, 'Host: localhost', ...headers, '', ''].join('\r\n'));
    }),
    10_000,
    `the answer to the upgrade of ${path}`,
  );
}

/** Writes `payload` in 256 KiB pieces, honouring backpressure; stops early if the socket closes. */
async function push(socket: Socket, payload: Buffer): Promise<void> {
  for (let offset = 0; offset < payload.length && !socket.destroyed; offset += 256 * 1024) {
    if (!socket.write(payload.subarray(offset, offset + 256 * 1024))) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The last upgrade the upstream saw, once it has seen `count` of them. */
function upstreamSession(upstream: UpgradeUpstream, count: number): UpgradeSeen {
  // The client has its 101 only after the upstream recorded the request: no wait needed.
  const seen = upstream.seen[count - 1];
  if (seen === undefined) throw new Error(`the upstream saw ${upstream.seen.length} upgrades, not ${count}`);
  return seen;
}

interface SocketCount {
  /** The proxy's connections to the upstream's port. */
  toUpstream: number;
  /** The proxy's accepted connections on its own port (clients). */
  fromClients: number;
}

/** TCP sockets the proxy process holds (any state but LISTEN; a TIME-WAIT belongs to no process). */
async function proxySockets(proxy: ProxyProcess, upstreamPort: number): Promise<SocketCount> {
  const { stdout } = await run('ss', ['-tnpH', 'state', 'connected']);
  const count = { toUpstream: 0, fromClients: 0 };
  for (const line of stdout.split('\n')) {
    if (!line.includes(`pid=${proxy.child.pid},`)) continue;
    const [local, peer] = line.split(/\s+/).filter((field) => /:\d+$/.test(field));
    if (peer?.endsWith(`:${upstreamPort}`) === true) count.toUpstream++;
    if (local?.endsWith(`:${proxy.port}`) === true) count.fromClients++;
  }
  return count;
}

/** Asks `ss` until the proxy holds `expected` sockets or `ms` have passed; returns the last count. */
async function settledSockets(proxy: ProxyProcess, upstreamPort: number, expected: SocketCount, ms = 5_000): Promise<SocketCount> {
  const deadline = Date.now() + ms;
  for (;;) {
    const count = await proxySockets(proxy, upstreamPort);
    if ((count.toUpstream === expected.toUpstream && count.fromClients === expected.fromClients) || Date.now() > deadline) return count;
  }
}

/** Recv-Q and Send-Q of the loopback TCP sockets, by local and peer port (0 when there is none). */
async function tcpQueues(): Promise<{ recvQ(local: number, peer: number): number; sendQ(local: number, peer: number): number }> {
  const { stdout } = await run('ss', ['-tnH', 'state', 'connected']);
  const queues = new Map<string, [number, number]>();
  for (const line of stdout.split('\n')) {
    const [, recvQ, sendQ, local, peer] = line.trim().split(/\s+/);
    if (peer === undefined) continue;
    queues.set(`${local!.split(':').pop()}>${peer.split(':').pop()}`, [Number(recvQ), Number(sendQ)]);
  }
  return {
    recvQ: (local, peer) => queues.get(`${local}>${peer}`)?.[0] ?? 0,
    sendQ: (local, peer) => queues.get(`${local}>${peer}`)?.[1] ?? 0,
  };
}

void t.test('port-forward sessions through a proxy with the default filter and a token', async (t) => {
  const { dir, upstream, kubeconfig } = await upgradeSetup(t);
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(dir) });
  t.teardown(() => proxy.stop());
  let upgrades = 0;

  for (const [protocol, headers] of [['WebSocket', WEBSOCKET], ['SPDY/3.1', SPDY]] as const) {
    void t.test(`${protocol}: 16 MiB echoed byte-exact both ways at once, then a clean close`, async (t) => {
      const session = await openUpgrade(proxy.port, PORT_FORWARD, headers);
      const seen = upstreamSession(upstream, ++upgrades);
      t.equal(session.status, 101, 'port-forward passes the default filter');
      t.equal(seen.url, PORT_FORWARD);
      t.equal(seen.headers.authorization, 'Bearer upgrade-token');
      if (protocol === 'WebSocket') {
        t.match(session.head, new RegExp(`\\r\\nSec-WebSocket-Accept: ${WEBSOCKET_ACCEPT.replaceAll('+', '\\+')}\\r\\n`), 'the upstream head reaches the client as is');
        t.match(session.head, /\r\nSec-WebSocket-Protocol: v4\.channel\.k8s\.io(\r\n|$)/);
        t.equal(seen.headers['sec-websocket-key'], WEBSOCKET_KEY);
        t.equal(seen.headers['sec-websocket-protocol'], 'v4.channel.k8s.io, portforward.k8s.io');
      } else {
        t.match(session.head, /\r\nUpgrade: SPDY\/3\.1\r\n/);
        t.equal(seen.headers['x-stream-protocol-version'], 'portforward.k8s.io');
      }

      const payload = randomBytes(16 * MIB);
      const pushed = push(session.socket, payload);
      await session.receivedAtLeast(payload.length, 30_000);
      await withTimeout(pushed, 1_000, 'the client writing its last bytes');
      t.equal(seen.received(), payload.length, 'the upstream read every byte sent');
      t.equal(seen.receivedSha256(), sha256(payload), 'client → upstream byte-exact');
      t.equal(session.received(), payload.length, 'the client read as many bytes back');
      t.equal(session.receivedSha256(), sha256(payload), 'upstream → client byte-exact');

      t.same(await proxySockets(proxy, upstream.port), { toUpstream: 1, fromClients: 1 }, 'one socket each side during the session');
      session.socket.end();
      await withTimeout(session.closed, 5_000, 'the client socket closing after its end');
      await withTimeout(seen.closed, 5_000, 'the upstream socket closing');
      t.same(await settledSockets(proxy, upstream.port, { toUpstream: 0, fromClients: 0 }), { toUpstream: 0, fromClients: 0 }, 'no socket left in the proxy');
    });
  }

  void t.test('the client hanging up mid-stream closes the upstream side', async (t) => {
    const session = await openUpgrade(proxy.port, PORT_FORWARD, SPDY);
    const seen = upstreamSession(upstream, ++upgrades);
    const pushed = push(session.socket, randomBytes(8 * MIB));
    await session.receivedAtLeast(MIB, 10_000);
    t.ok(session.received() < 8 * MIB, 'still mid-stream');
    t.same(await proxySockets(proxy, upstream.port), { toUpstream: 1, fromClients: 1 });
    session.socket.destroy();
    await pushed;
    await t.resolves(withTimeout(seen.closed, 5_000, 'the upstream socket closing'), 'the upstream sees its socket close');
    t.same(await settledSockets(proxy, upstream.port, { toUpstream: 0, fromClients: 0 }), { toUpstream: 0, fromClients: 0 }, 'no socket left in the proxy');
  });

  void t.test('the upstream hanging up mid-stream closes the client side', async (t) => {
    const session = await openUpgrade(proxy.port, PORT_FORWARD, WEBSOCKET);
    const seen = upstreamSession(upstream, ++upgrades);
    const pushed = push(session.socket, randomBytes(8 * MIB));
    await session.receivedAtLeast(MIB, 10_000);
    t.ok(session.received() < 8 * MIB, 'still mid-stream');
    t.same(await proxySockets(proxy, upstream.port), { toUpstream: 1, fromClients: 1 });
    seen.socket.destroy();
    await t.resolves(withTimeout(session.closed, 5_000, 'the client socket closing'), 'the proxy closes the client socket');
    await pushed;
    t.same(await settledSockets(proxy, upstream.port, { toUpstream: 0, fromClients: 0 }), { toUpstream: 0, fromClients: 0 }, 'no socket left in the proxy');
  });

  void t.test('the upstream ending after its last bytes: a slow client still gets them all, then a close', async (t) => {
    const session = await openUpgrade(proxy.port, PORT_FORWARD, SPDY);
    const seen = upstreamSession(upstream, ++upgrades);
    const clientPort = session.socket.localPort!;
    const proxyToUpstreamPort = seen.socket.remotePort!;
    // The client reads nothing while the upstream writes, until the kernel buffers between the
    // proxy and the client are full and the proxy holds bytes for the client in its own memory
    // (less than it holds before pausing the upstream, so it still reads the upstream's end).
    session.socket.pause();
    const piece = randomBytes(128 * 1024);
    const sent = createHash('sha256');
    let sentBytes = 0;
    /** Bytes the proxy has read from the upstream but not yet handed to the kernel for the client. */
    const heldByProxy = async (): Promise<number> => {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const q = await tcpQueues();
        const fromUpstream = seen.socket.writableLength + q.sendQ(upstream.port, proxyToUpstreamPort) + q.recvQ(proxyToUpstreamPort, upstream.port);
        if (fromUpstream === 0) {
          const atClient = session.received() + session.socket.readableLength + q.recvQ(clientPort, proxy.port);
          return sentBytes - atClient - q.sendQ(proxy.port, clientPort);
        }
        if (Date.now() > deadline) throw new Error(`the proxy did not read the upstream's ${fromUpstream} bytes within 5 s`);
      }
    };
    while ((await heldByProxy()) <= 0 || (await heldByProxy()) <= 0) {
      if (sentBytes >= 64 * MIB) throw new Error('64 MiB sent and the proxy still holds nothing: kernel buffers that large?');
      seen.socket.write(piece);
      sent.update(piece);
      sentBytes += piece.length;
    }
    t.ok(sentBytes > 0);
    seen.socket.end();
    // Its side closed: the proxy has read the end and closed its connection to the upstream.
    await withTimeout(seen.closed, 5_000, 'the upstream socket closing');
    session.socket.resume();
    await t.resolves(withTimeout(session.closed, 10_000, 'the client socket closing'), 'the proxy closes the client socket');
    t.equal(session.received(), sentBytes, 'every byte the upstream sent before ending reached the client');
    t.equal(session.receivedSha256(), sent.digest('hex'));
    t.same(await settledSockets(proxy, upstream.port, { toUpstream: 0, fromClients: 0 }), { toUpstream: 0, fromClients: 0 }, 'no socket left in the proxy');
  });

  void t.test('an idle session outlives Node\'s 5 s keep-alive timeout', async (t) => {
    const session = await openUpgrade(proxy.port, PORT_FORWARD, WEBSOCKET);
    const seen = upstreamSession(upstream, ++upgrades);
    session.socket.write('before');
    await session.receivedAtLeast(6, 5_000);
    let closedEarly = false;
    void session.closed.then(() => (closedEarly = true));
    void seen.closed.then(() => (closedEarly = true));
    // The idle time is what is tested here, not a wait for something to happen.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    t.notOk(closedEarly, 'neither side was closed while idle');
    session.socket.write('after');
    await session.receivedAtLeast(11, 5_000);
    t.equal(session.receivedSha256(), sha256(Buffer.from('beforeafter')), 'the session still echoes');
    session.socket.destroy();
  });

  void t.test('hop-by-hop and Connection-listed headers are dropped; Connection and Upgrade kept', async (t) => {
    const session = await openUpgrade(proxy.port, PORT_FORWARD, [
      'Connection: Upgrade, X-Foo',
      'Upgrade: SPDY/3.1',
      'X-Foo: listed',
      'Keep-Alive: timeout=5',
      'Proxy-Authorization: Basic cHJveHk6c2VjcmV0',
      'Proxy-Connection: keep-alive',
      'TE: gzip',
      'Trailer: X-Checksum',
      'X-Stream-Protocol-Version: portforward.k8s.io',
    ]);
    const seen = upstreamSession(upstream, ++upgrades);
    session.socket.destroy();
    t.equal(session.status, 101);
    t.match(seen.headers.connection, /^Upgrade\b/i, 'Connection kept');
    t.equal(seen.headers.upgrade, 'SPDY/3.1', 'Upgrade kept');
    t.equal(seen.headers['x-stream-protocol-version'], 'portforward.k8s.io', 'end-to-end headers kept');
    for (const name of ['x-foo', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer']) {
      t.equal(seen.headers[name], undefined, `${name} dropped`);
    }
  });

  void t.test("without --override-client-auth the client's own Authorization is sent", async (t) => {
    const session = await openUpgrade(proxy.port, PORT_FORWARD, [...SPDY, 'Authorization: Bearer client-own-token']);
    const seen = upstreamSession(upstream, ++upgrades);
    session.socket.destroy();
    t.equal(session.status, 101);
    t.equal(seen.headers.authorization, 'Bearer client-own-token', 'as kubectl does');
  });
});

void t.test('--override-client-auth: the client\'s Authorization and Impersonate-* are replaced on upgrades', async (t) => {
  const { dir, upstream, kubeconfig } = await upgradeSetup(t);
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--override-client-auth'], { env: isolatedEnv(dir) });
  t.teardown(() => proxy.stop());
  const session = await openUpgrade(proxy.port, PORT_FORWARD, [...WEBSOCKET, 'Authorization: Bearer client-own-token', 'Impersonate-User: mallory']);
  const seen = upstreamSession(upstream, 1);
  session.socket.destroy();
  t.equal(session.status, 101);
  t.equal(seen.headers.authorization, 'Bearer upgrade-token', 'the kubeconfig token, not the client\'s');
  t.equal(seen.headers['impersonate-user'], undefined, 'the client\'s impersonation dropped');
});

void t.test('a client certificate from the kubeconfig is presented on upgrades', async (t) => {
  const { dir, upstream, kubeconfig } = await upgradeSetup(t, {
    requestCert: true,
    user: (files) => ({ 'client-certificate': files.clientCert, 'client-key': files.clientKey }),
  });
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(dir) });
  t.teardown(() => proxy.stop());
  const session = await openUpgrade(proxy.port, PORT_FORWARD, WEBSOCKET);
  const seen = upstreamSession(upstream, 1);
  t.equal(session.status, 101);
  t.equal(seen.clientCertCN, 'kube-admin', 'the upstream saw the client certificate');
  t.equal(seen.headers.authorization, undefined, 'and no token');
  session.socket.write('ping');
  await session.receivedAtLeast(4, 5_000);
  t.equal(session.receivedSha256(), sha256(Buffer.from('ping')));
  session.socket.destroy();
});

void t.test('SIGTERM with a live session ends it and exits 0 without waiting out the grace period', async (t) => {
  const { dir, upstream, kubeconfig } = await upgradeSetup(t);
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(dir) });
  t.teardown(() => proxy.stop('SIGKILL'));
  const session = await openUpgrade(proxy.port, PORT_FORWARD, WEBSOCKET);
  const seen = upstreamSession(upstream, 1);
  const payload = randomBytes(4 * MIB);
  const pushed = push(session.socket, payload);
  await session.receivedAtLeast(MIB, 10_000);

  const started = Date.now();
  const exited = proxy.stop('SIGTERM', SHUTDOWN_GRACE_MS + 5_000);
  await t.resolves(withTimeout(session.closed, SHUTDOWN_GRACE_MS, 'the client socket closing'), 'the client sees its session closed');
  await t.resolves(withTimeout(seen.closed, SHUTDOWN_GRACE_MS, 'the upstream socket closing'), 'the upstream sees its session closed');
  t.equal(await exited, 0, 'exit code 0');
  const elapsed = Date.now() - started;
  t.ok(elapsed < SHUTDOWN_GRACE_MS / 2, `exited in ${elapsed} ms: the session was ended, not waited out`);
  await pushed;
});

void t.test('SIGTERM with a client that never closes its side: exit 0 within the grace period', async (t) => {
  const { dir, upstream, kubeconfig } = await upgradeSetup(t);
  const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0'], { env: isolatedEnv(dir) });
  t.teardown(() => proxy.stop('SIGKILL'));
  const session = await openUpgrade(proxy.port, PORT_FORWARD, SPDY, { allowHalfOpen: true });
  const seen = upstreamSession(upstream, 1);
  session.socket.write('ping');
  await session.receivedAtLeast(4, 5_000);

  const started = Date.now();
  const exited = proxy.stop('SIGTERM', SHUTDOWN_GRACE_MS + 5_000);
  await t.resolves(withTimeout(session.ended, SHUTDOWN_GRACE_MS / 2, 'the proxy ending the session'), 'the proxy ends the session at once');
  t.equal(await exited, 0, 'exit code 0');
  const elapsed = Date.now() - started;
  t.ok(elapsed < SHUTDOWN_GRACE_MS + 2_000, `exited in ${elapsed} ms, within the ${SHUTDOWN_GRACE_MS} ms grace (and a margin)`);
  // The client keeps its half open (it never ends), so only the proxy's sockets can be checked.
  await t.resolves(withTimeout(seen.closed, 2_000, 'the upstream socket closing'), 'the upstream socket is closed');
});
