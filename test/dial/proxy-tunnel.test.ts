// openTunnel against real proxies on loopback: HTTP CONNECT (plain and TLS, with and without
// Basic credentials) and SOCKS5 (with and without RFC 1929 credentials), and each way it fails.
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { createPki, issueCertificate } from '../../examples/pki.js';
import { openTunnel, ProxyTunnelError } from '../../src/dial/tunnel.js';
import { closedPort, startHttpProxy, startSocksProxy } from '../helpers/forward-proxies.js';

const TIMEOUT_MS = 5_000;

/** A TCP server that echoes every byte back, on 127.0.0.1 or ::1. */
async function startEcho(t: Test, host = '127.0.0.1'): Promise<number> {
  const server = createServer((socket) => socket.pipe(socket));
  return listenUntilTeardown(t, server, host);
}

async function listenUntilTeardown(t: Test, server: Server, host = '127.0.0.1'): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => sockets.add(socket));
  server.listen(0, host);
  await once(server, 'listening');
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** Sends `text` through the tunnel and resolves with what came back, bounded. */
function roundTrip(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const timer = setTimeout(() => reject(new Error(`no echo within ${TIMEOUT_MS} ms; got ${received}`)), TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.length < text.length) return;
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(text);
  });
}

/** Resolves with the tunnel error openTunnel rejected with (fails the test if it connected). */
async function tunnelError(t: Test, tunnel: Promise<Socket>): Promise<ProxyTunnelError> {
  try {
    const socket = await tunnel;
    socket.destroy();
    throw new Error('the tunnel opened');
  } catch (err) {
    t.type(err, ProxyTunnelError);
    return err as ProxyTunnelError;
  }
}

void t.test('HTTP CONNECT: the tunnel carries bytes both ways to the target', async (t) => {
  const echo = await startEcho(t);
  const proxy = await startHttpProxy(t);
  const socket = await openTunnel(new URL(proxy.url), '127.0.0.1', echo, { timeoutMs: TIMEOUT_MS });
  t.teardown(() => socket.destroy());
  t.equal(await roundTrip(socket, 'ping through CONNECT'), 'ping through CONNECT');
  t.same(proxy.tunnels, [`127.0.0.1:${echo}`], 'one CONNECT, to the target');
});

void t.test('HTTP CONNECT with userinfo sends Basic Proxy-Authorization, decoded', async (t) => {
  const echo = await startEcho(t);
  const credentials = { username: 'kap user', password: 'p@ss:w/rd%' };
  const proxy = await startHttpProxy(t, { credentials });
  const socket = await openTunnel(new URL(proxy.withCredentials(credentials.username, credentials.password)), '127.0.0.1', echo, { timeoutMs: TIMEOUT_MS });
  t.teardown(() => socket.destroy());
  t.equal(await roundTrip(socket, 'authorized'), 'authorized');
  t.same(proxy.tunnels, [`127.0.0.1:${echo}`]);

  const wrong = await tunnelError(t, openTunnel(new URL(proxy.withCredentials('kap user', 'wrong-secret')), '127.0.0.1', echo, { timeoutMs: TIMEOUT_MS }));
  t.equal(wrong.failure, 'refused');
  t.equal(wrong.message, `proxy http://127.0.0.1:${proxy.port}: CONNECT 127.0.0.1:${echo}: 407 Proxy Authentication Required`);
  const missing = await tunnelError(t, openTunnel(new URL(proxy.url), '127.0.0.1', echo, { timeoutMs: TIMEOUT_MS }));
  t.match(missing.message, /407 Proxy Authentication Required$/, 'no credentials: the 407 is reported too');
});

void t.test('HTTP CONNECT: a proxy that cannot reach the target answers non-2xx, reported with its status line', async (t) => {
  const proxy = await startHttpProxy(t);
  const port = await closedPort();
  const err = await tunnelError(t, openTunnel(new URL(proxy.url), '127.0.0.1', port, { timeoutMs: TIMEOUT_MS }));
  t.equal(err.failure, 'refused');
  t.equal(err.message, `proxy http://127.0.0.1:${proxy.port}: CONNECT 127.0.0.1:${port}: 500 Internal Server Error`);
});

void t.test('HTTP CONNECT: exact request bytes, and bytes sent right after the 200 are kept', async (t) => {
  let request = '';
  const fake = createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      request += chunk.toString('latin1');
      if (request.endsWith('\r\n\r\n')) socket.write('HTTP/1.1 200 Connection established\r\n\r\nfirst bytes of the target');
    });
  });
  const port = await listenUntilTeardown(t, fake);
  const socket = await openTunnel(new URL(`http://127.0.0.1:${port}`), 'api.example', 6443, { timeoutMs: TIMEOUT_MS });
  t.teardown(() => socket.destroy());
  t.equal(request, 'CONNECT api.example:6443 HTTP/1.1\r\nHost: api.example:6443\r\n\r\n');
  socket.resume();
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  t.equal(chunk.toString(), 'first bytes of the target', 'nothing read past the proxy answer is lost');

  const v6 = await openTunnel(new URL(`http://127.0.0.1:${port}`), '::1', 443, { timeoutMs: TIMEOUT_MS }).catch(() => undefined);
  v6?.destroy();
  t.match(request, /CONNECT \[::1\]:443 HTTP\/1\.1\r\nHost: \[::1\]:443\r\n/, 'an IPv6 target is bracketed');
});

void t.test('an https proxy: CONNECT over TLS verified with the given CA', async (t) => {
  const pki = createPki();
  const echo = await startEcho(t);
  const proxy = await startHttpProxy(t, { tls: issueCertificate(pki, { commonName: 'proxy', usage: 'server', names: ['127.0.0.1'] }) });
  const socket = await openTunnel(new URL(proxy.url), '127.0.0.1', echo, { timeoutMs: TIMEOUT_MS, tls: { ca: pki.caCert } });
  t.teardown(() => socket.destroy());
  t.equal(await roundTrip(socket, 'inside TLS'), 'inside TLS');
  t.same(proxy.tunnels, [`127.0.0.1:${echo}`]);

  const untrusted = await tunnelError(t, openTunnel(new URL(proxy.url), '127.0.0.1', echo, { timeoutMs: TIMEOUT_MS, tls: { ca: createPki().caCert } }));
  t.equal(untrusted.failure, 'unreachable');
  t.match(untrusted.message, new RegExp(`^proxy https://127\\.0\\.0\\.1:${proxy.port}: tls: `), 'a proxy certificate from another CA is refused');
});

void t.test('SOCKS5 without authentication; names are sent for the proxy to resolve', async (t) => {
  const echo = await startEcho(t);
  const proxy = await startSocksProxy(t);
  const socket = await openTunnel(new URL(proxy.url), 'localhost', echo, { timeoutMs: TIMEOUT_MS });
  t.teardown(() => socket.destroy());
  t.equal(await roundTrip(socket, 'socks ping'), 'socks ping');
  t.same(proxy.tunnels, [`localhost:${echo}`], 'the name reached the proxy as a name');
});

void t.test('SOCKS5 to IPv4 and IPv6 addresses', async (t) => {
  const proxy = await startSocksProxy(t);
  const v4 = await startEcho(t);
  const socket4 = await openTunnel(new URL(proxy.url), '127.0.0.1', v4, { timeoutMs: TIMEOUT_MS });
  t.teardown(() => socket4.destroy());
  t.equal(await roundTrip(socket4, 'v4'), 'v4');
  const v6 = await startEcho(t, '::1');
  const socket6 = await openTunnel(new URL(proxy.url), '::1', v6, { timeoutMs: TIMEOUT_MS });
  t.teardown(() => socket6.destroy());
  t.equal(await roundTrip(socket6, 'v6'), 'v6');
  t.same(proxy.tunnels, [`127.0.0.1:${v4}`, `0:0:0:0:0:0:0:1:${v6}`], 'addresses sent as IPv4 and IPv6 address types');
});

void t.test('SOCKS5 with username/password (RFC 1929)', async (t) => {
  const echo = await startEcho(t);
  const credentials = { username: 'kap', password: 's3cret:@' };
  const proxy = await startSocksProxy(t, { credentials });
  const socket = await openTunnel(new URL(proxy.withCredentials(credentials.username, credentials.password)), '127.0.0.1', echo, { timeoutMs: TIMEOUT_MS });
  t.teardown(() => socket.destroy());
  t.equal(await roundTrip(socket, 'authenticated'), 'authenticated');

  const wrong = await tunnelError(t, openTunnel(new URL(proxy.withCredentials('kap', 'wrong-secret')), '127.0.0.1', echo, { timeoutMs: TIMEOUT_MS }));
  t.equal(wrong.message, `proxy socks5://127.0.0.1:${proxy.port}: SOCKS5 username/password authentication failed`);
  const missing = await tunnelError(t, openTunnel(new URL(proxy.url), '127.0.0.1', echo, { timeoutMs: TIMEOUT_MS }));
  t.equal(missing.message, `proxy socks5://127.0.0.1:${proxy.port}: SOCKS5 proxy requires authentication`);
  t.same(proxy.tunnels, [`127.0.0.1:${echo}`], 'only the authenticated client got a tunnel');
});

void t.test('SOCKS5: a refused target is reported with the reply code in words', async (t) => {
  const proxy = await startSocksProxy(t);
  const port = await closedPort();
  const err = await tunnelError(t, openTunnel(new URL(proxy.url), '127.0.0.1', port, { timeoutMs: TIMEOUT_MS }));
  t.equal(err.failure, 'refused');
  t.equal(err.message, `proxy socks5://127.0.0.1:${proxy.port}: SOCKS5 CONNECT 127.0.0.1:${port}: connection refused`);
});

void t.test('a proxy that is down is unreachable; its password never appears', async (t) => {
  const port = await closedPort();
  for (const scheme of ['http', 'https', 'socks5']) {
    const err = await tunnelError(t, openTunnel(new URL(`${scheme}://user:hunter2@127.0.0.1:${port}`), 'api.example', 443, { timeoutMs: TIMEOUT_MS }));
    t.equal(err.failure, 'unreachable', scheme);
    t.equal(err.message, `proxy ${scheme}://127.0.0.1:${port}: connect: connection refused`, scheme);
    t.notMatch(err.message, /hunter2|user/, scheme);
  }
});

void t.test('a proxy that accepts but never answers times out within timeoutMs', async (t) => {
  const silent = createServer(() => undefined);
  const port = await listenUntilTeardown(t, silent);
  for (const scheme of ['http', 'socks5']) {
    const started = Date.now();
    const err = await tunnelError(t, openTunnel(new URL(`${scheme}://127.0.0.1:${port}`), 'api.example', 443, { timeoutMs: 300 }));
    t.equal(err.failure, 'timeout', scheme);
    t.equal(err.message, `proxy ${scheme}://127.0.0.1:${port}: no tunnel within 300 ms`);
    t.ok(Date.now() - started < 3_000, 'gave up promptly');
  }
});
