// The HTTPS listener (--local-tls, --tls-cert-file): HTTP/2 and HTTP/1.1 on one port, and
// everything that works over plain HTTP works over both: forwarding, watches, filters, Status
// errors, static files, the Origin guard, logs; upgrades over HTTP/1.1; a stream the client resets
// is aborted upstream; a stop with HTTP/2 watches open is clean. Real clients: Node's http2, curl.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect as h2connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { issueCertificate } from '../../examples/pki.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { isolatedEnv, runProxy, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { waitFor, withTimeout } from '../helpers/waiting.js';

const run = promisify(execFile);

interface H2Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A test cluster and the proxy in front of it with --local-tls; `www/index.html` is there for --www. */
async function start(t: Test, ...flags: string[]): Promise<{ cluster: TestCluster; proxy: ProxyProcess; ca: string }> {
  const cluster = await startTestCluster(t);
  mkdirSync(join(cluster.dir, 'www'));
  writeFileSync(join(cluster.dir, 'www', 'index.html'), '<h1>tool</h1>');
  const certsDir = join(cluster.dir, 'certs');
  flags = flags.map((flag) => flag.replace('$DIR', cluster.dir));
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--local-tls', '--certs-dir', certsDir, ...flags], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  return { cluster, proxy, ca: readFileSync(join(certsDir, 'ca.crt'), 'utf8') };
}

function session(t: Test, port: number, ca: string): ClientHttp2Session {
  const client = h2connect(`https://localhost:${port}`, { ca });
  client.on('error', () => undefined);
  t.teardown(() => client.destroy());
  return client;
}

function h2request(client: ClientHttp2Session, path: string, headers: Record<string, string> = {}): Promise<H2Reply> {
  return withTimeout(
    new Promise<H2Reply>((resolve, reject) => {
      const stream = client.request({ ':path': path, ...headers });
      let body = '';
      let status = 0;
      let received: IncomingHttpHeaders = {};
      stream.setEncoding('utf8');
      stream.on('response', (h) => {
        received = h;
        status = Number(h[':status']);
      });
      stream.on('data', (chunk: string) => (body += chunk));
      stream.on('end', () => resolve({ status, headers: received, body }));
      stream.on('error', reject);
      stream.end();
    }),
    10_000,
    `GET ${path} over HTTP/2`,
  );
}

void t.test('--local-tls: HTTP/2 and HTTP/1.1 on one port, everything as over plain HTTP', async (t) => {
  const { cluster, proxy, ca } = await start(t, '--www', '$DIR/www', '-v', '6');
  const certsDir = join(cluster.dir, 'certs');
  t.match(proxy.stdout(), /^Starting to serve on 127\.0\.0\.1:\d+\n/, "kubectl's start line comes first, unchanged");
  t.match(proxy.stdout(), new RegExp(`Serving HTTPS with HTTP/2 at https://localhost:${proxy.port}/`));
  t.match(proxy.stdout(), /Local CA \(created now\): .*certs\/ca\.crt/);
  t.match(proxy.stdout(), /trust it system-wide: sudo cp .*ca\.crt.* update-ca-certificates/);
  t.match(proxy.stdout(), /trust it in a Chrome, Chromium or Firefox profile: certutil -d sql:\$HOME\/\.pki\/nssdb -A .*ca\.crt/);
  t.equal(statSync(certsDir).mode & 0o777, 0o700, 'the certs directory is owner-only');
  for (const key of ['ca.key', 'localhost.key']) t.equal(statSync(join(certsDir, key)).mode & 0o777, 0o600, `${key} is 0600`);

  const client = session(t, proxy.port, ca);
  const list = await h2request(client, '/api/v1/namespaces/default/pods');
  t.equal(list.status, 200, 'a list over HTTP/2');
  t.equal((JSON.parse(list.body) as { kind: string }).kind, 'PodList');
  t.match(list.headers['audit-id'], /^[0-9a-f-]{36}$/, 'with its Audit-Id');
  t.equal(client.alpnProtocol, 'h2', 'negotiated HTTP/2');
  const seen = cluster.api.requests.at(-1);
  t.equal(seen?.headers.host, `${cluster.api.host}:${cluster.api.port}`, 'upstream got the server as Host, not :authority');
  t.notOk(Object.keys(seen?.headers ?? {}).some((name) => name.startsWith(':')), 'no pseudo-header went upstream');

  const refused = await h2request(client, '/api/v1/namespaces/default/pods/web-0/exec?command=ls');
  t.equal(refused.status, 403, 'filters apply over HTTP/2');
  t.match(JSON.parse(refused.body), { kind: 'Status', details: { causes: [{ reason: 'KAP_FILTER_REJECTED' }] } });
  t.match(refused.headers['audit-id'], /^[0-9a-f-]{36}$/, 'a refusal carries its Audit-Id');

  const page = await h2request(client, '/static/');
  t.equal(page.status, 200, 'static files over HTTP/2');
  t.equal(page.body, '<h1>tool</h1>');

  const own = await h2request(client, '/version', { origin: `https://localhost:${proxy.port}` });
  t.equal(own.status, 200, "the proxy's own https origin passes the Origin guard");
  const plainOrigin = await h2request(client, '/version', { origin: `http://localhost:${proxy.port}` });
  t.equal(plainOrigin.status, 403, 'the http origin of the same host and port is another origin');

  const foreignHost = await h2request(client, '/version', { ':authority': `evil.example:${proxy.port}` });
  t.equal(foreignHost.status, 403, 'the Host check reads :authority');

  // curl, a real client, both ways; it verifies the certificate against the local CA.
  const caFile = join(certsDir, 'ca.crt');
  for (const [flag, version] of [['--http2', '2'], ['--http1.1', '1.1']] as const) {
    const { stdout } = await run('curl', ['-sS', flag, '--cacert', caFile, '-w', '\\n%{http_version} %{http_code}', `https://localhost:${proxy.port}/api/v1/namespaces/default/pods/web-0`], { timeout: 10_000 });
    t.match(stdout, new RegExp(`"name":"web-0"[\\s\\S]*\\n${version.replace('.', '\\.')} 200$`), `curl ${flag}`);
  }
  await proxy.waitForStderr(/"method":"GET","url":"\/api\/v1\/namespaces\/default\/pods\/web-0".*"status":200/);
});

void t.test('HTTP/2 watches: events stream on one connection; a reset stream is aborted upstream; a stop ends them', async (t) => {
  const { cluster, proxy, ca } = await start(t, '-v', '6');
  const client = session(t, proxy.port, ca);
  const idle = cluster.api.connections();
  const streams = Array.from({ length: 20 }, () => client.request({ ':path': '/api/v1/namespaces/default/pods?watch=1&resourceVersion=0' }));
  const texts = streams.map(() => '');
  streams.forEach((stream, i) => {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (texts[i] += chunk));
    stream.on('error', () => undefined);
  });
  await waitFor(() => texts.every((text) => text.includes('"ADDED"')), 10_000, 'every watch to start');
  cluster.api.createPod('default', 'h2-news');
  await waitFor(() => texts.every((text) => text.includes('h2-news')), 10_000, 'every watch to see the new pod');
  t.pass('20 watches on one HTTP/2 connection all saw the event');
  const open = cluster.api.connections();
  t.ok(open > idle, 'the watches hold connections to the API server');

  const closed = new Promise<void>((resolve) => streams[0]!.once('close', resolve));
  streams[0]!.close(constants.NGHTTP2_CANCEL);
  await withTimeout(closed, 5000, 'the reset stream to close');
  await waitFor(() => cluster.api.connections() < open, 10_000, 'the reset watch to be closed upstream');
  t.pass('a watch the client reset was aborted upstream');
  await proxy.waitForStderr(/"url":"\/api\/v1\/namespaces\/default\/pods\?watch=1&resourceVersion=0","status":200,"completed":false/);
  t.pass('and logged as not completed');

  const ended = Promise.all(streams.slice(1).map((stream) => new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once('close', resolve)))));
  const code = await proxy.stop('SIGTERM', 10_000);
  t.equal(code, 0, 'a stop with HTTP/2 watches open exits cleanly');
  await withTimeout(ended, 5000, 'the open watches to end');
  t.pass('every other watch ended');
});

void t.test('upgrades arrive over HTTP/1.1 on the HTTPS port', async (t) => {
  const { cluster, proxy, ca } = await start(t, '--allow-exec');
  const socket = tlsConnect({ port: proxy.port, host: '127.0.0.1', servername: 'localhost', ca, ALPNProtocols: ['http/1.1'] });
  t.teardown(() => socket.destroy());
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined);
  await withTimeout(new Promise((resolve) => socket.once('secureConnect', resolve)), 5000, 'TLS handshake');
  socket.write(
    [
      'GET /api/v1/namespaces/default/pods/web-0/exec?command=date&stdout=true HTTP/1.1',
      `Host: localhost:${proxy.port}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Protocol: v5.channel.k8s.io',
      '',
      '',
    ].join('\r\n'),
  );
  await waitFor(() => text.includes('\r\n\r\n'), 10_000, 'the upgrade answer');
  t.match(text, /^HTTP\/1\.1 101 /, 'switched protocols');
  t.match(text, /sec-websocket-protocol: v5\.channel\.k8s\.io/i);
  await waitFor(() => cluster.api.execSessions.length > 0, 10_000, 'the exec session upstream');
  t.pass('the exec session reached the API server');
});

/** Raw bytes over TLS with HTTP/1.1 (at once, or one byte every `dribbleMs`): everything answered until the proxy closes, and when. */
function tlsExchange(port: number, ca: string, bytes: string, dribbleMs?: number): Promise<{ text: string; ms: number }> {
  const started = performance.now();
  return withTimeout(
    new Promise((resolve) => {
      const socket = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca, ALPNProtocols: ['http/1.1'] }, () => {
        if (dribbleMs === undefined) return void socket.write(bytes);
        let at = 0;
        const timer = setInterval(() => (socket.destroyed || at >= bytes.length ? clearInterval(timer) : socket.write(bytes[at++]!)), dribbleMs);
      });
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ text, ms: performance.now() - started }));
    }),
    8_000,
    'the proxy closing the TLS connection',
  );
}

void t.test('HTTP/1.1 over TLS has the plain listener\'s limits; HTTP/2 CONNECT is refused', async (t) => {
  const { proxy, ca } = await start(t, '--headers-timeout', '1s');
  // An HTTP/1.1 request line claiming HTTP/2.0 once crashed the proxy (taken for an HTTP/2 stream).
  const fake = await tlsExchange(proxy.port, ca, 'GET /version HTTP/2.0\r\nHost: localhost\r\n\r\n');
  t.match(fake.text, /^HTTP\/1\.1 400 [\s\S]*"reason":"KAP_BAD_REQUEST"/, 'HTTP/2.0 in an HTTP/1.1 request line: a 400 Status');
  const slow = await tlsExchange(proxy.port, ca, 'GET /version HTTP/1.1\r\nHost: localhost\r\nX-Slow: ssssssssssssssssssssssssssssssssssssssss', 100);
  t.match(slow.text, /^HTTP\/1\.1 408 [\s\S]*"reason":"KAP_REQUEST_HEADERS_TIMEOUT"/, 'a slow head: a 408 Status');
  t.ok(slow.ms >= 900 && slow.ms <= 2500, `closed after ${Math.round(slow.ms)} ms (--headers-timeout 1s)`);
  const client = session(t, proxy.port, ca);
  const connect = await withTimeout(
    new Promise<H2Reply>((resolve, reject) => {
      const stream = client.request({ ':method': 'CONNECT', ':authority': 'evil.example:443' });
      let body = '';
      let status = 0;
      let headers: IncomingHttpHeaders = {};
      stream.setEncoding('utf8');
      stream.on('response', (h) => ((headers = h), (status = Number(h[':status']))));
      stream.on('data', (chunk: string) => (body += chunk));
      stream.on('end', () => resolve({ status, headers, body }));
      stream.on('error', reject);
    }),
    5_000,
    'the answer to an HTTP/2 CONNECT',
  );
  t.equal(connect.status, 405);
  t.equal(connect.headers.allow, 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
  t.match(connect.body, /"reason":"KAP_CONNECT_NOT_ALLOWED"/);
  t.equal((await h2request(client, '/version')).status, 200, 'the proxy still serves');
});

void t.test('--local-tls keeps its CA across runs; --tls-cert-file serves your own certificate', async (t) => {
  const cluster = await startTestCluster(t);
  const certsDir = join(cluster.dir, 'certs');
  const args = ['--kubeconfig', cluster.certKubeconfig(), '-p', '0'];
  const first = await startProxyProcess([...args, '--local-tls', '--certs-dir', certsDir], { env: isolatedEnv(cluster.dir) });
  const ca = readFileSync(join(certsDir, 'ca.crt'), 'utf8');
  await first.stop();
  const second = await startProxyProcess([...args, '--local-tls'], { env: isolatedEnv(cluster.dir, { XDG_STATE_HOME: join(cluster.dir, 'state') }) });
  t.teardown(() => second.stop());
  t.match(second.stdout(), /Local CA \(created now\): .*\/state\/kube-auth-proxy\/certs\/ca\.crt/, 'the default place is under $XDG_STATE_HOME');
  const third = await startProxyProcess([...args, '--local-tls', '--certs-dir', certsDir], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => third.stop());
  t.match(third.stdout(), /Local CA: .*certs\/ca\.crt\n/, 'a second run says nothing about creating the CA');
  t.equal(readFileSync(join(certsDir, 'ca.crt'), 'utf8'), ca, 'and reuses it, so the trust given once stays');
  t.equal((await h2request(session(t, third.port, ca), '/version')).status, 200, 'its certificate is trusted through that CA');

  const own = issueCertificate(cluster.pki, { commonName: 'localhost', usage: 'server', names: ['localhost'] });
  const ownDir = join(cluster.dir, 'own');
  mkdirSync(ownDir);
  writeFileSync(join(ownDir, 'tls.crt'), own.cert);
  writeFileSync(join(ownDir, 'tls.key'), own.key);
  writeFileSync(join(ownDir, 'other.key'), issueCertificate(cluster.pki, { commonName: 'x', usage: 'server' }).key);
  const byFile = await startProxyProcess([...args, '--tls-cert-file', join(ownDir, 'tls.crt'), '--tls-private-key-file', join(ownDir, 'tls.key')], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => byFile.stop());
  t.notMatch(byFile.stdout(), /Local CA/, 'no local CA with your own certificate');
  const reply = await h2request(session(t, byFile.port, cluster.pki.caCert), '/api/v1/namespaces/default/pods');
  t.equal(reply.status, 200, 'served with the given certificate, trusted through its own CA');

  const bad: [string, string[], RegExp][] = [
    ['a key without its certificate', ['--tls-private-key-file', join(ownDir, 'tls.key')], /^error: --tls-private-key-file: needs --tls-cert-file too\n$/],
    ['a missing file', ['--tls-cert-file', join(ownDir, 'nope.crt'), '--tls-private-key-file', join(ownDir, 'tls.key')], /^error: --tls-cert-file: cannot read .*nope\.crt: ENOENT\n$/],
    ['a key that is not the certificate’s', ['--tls-cert-file', join(ownDir, 'tls.crt'), '--tls-private-key-file', join(ownDir, 'other.key')], /^error: --tls-private-key-file: .*other\.key is not the key of the certificate in .*tls\.crt\n$/],
    ['a certificate file that holds none', ['--tls-cert-file', join(ownDir, 'tls.key'), '--tls-private-key-file', join(ownDir, 'tls.key')], /^error: --tls-cert-file: .*tls\.key holds no PEM certificate\n$/],
    ['both ways at once', ['--local-tls', '--tls-cert-file', join(ownDir, 'tls.crt'), '--tls-private-key-file', join(ownDir, 'tls.key')], /^error: --local-tls and --tls-cert-file cannot be used together/],
    ['--certs-dir alone', ['--certs-dir', certsDir], /^error: --certs-dir: only used with --local-tls\n$/],
  ];
  for (const [what, flags, message] of bad) {
    const result = await runProxy([...args, ...flags], { env: isolatedEnv(cluster.dir) });
    t.equal(result.code, 1, `${what}: exit 1`);
    t.match(result.stderr, message, `${what}: one line naming the flag`);
  }
  writeFileSync(join(cluster.dir, 'blocker'), '');
  const blocked = await runProxy([...args, '--local-tls', '--certs-dir', join(cluster.dir, 'blocker', 'certs')], { env: isolatedEnv(cluster.dir) });
  t.match(blocked.stderr, /^error: --certs-dir: cannot keep the local CA in .*blocker\/certs: ENOTDIR\n$/, 'an unusable --certs-dir is named');
});
