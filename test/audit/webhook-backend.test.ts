// The audit webhook backend against a real HTTPS receiver that checks the proxy's client
// certificate: EventList batches, batch size and max wait, blocking mode, retries, the spool
// (survives a restart, resumes at its cursor, has a cap) and close() against a hanging receiver;
// and the one-line refusals of a bad --audit-webhook-config-file.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import t, { type Test } from 'tap';
import { createPki } from '../../examples/pki.js';
import type { AuditEvent } from '../../src/audit/event.js';
import {
  createWebhookBackend,
  loadWebhookTarget,
  WEBHOOK_DEFAULTS,
  type WebhookBackendOptions,
  type WebhookEvents,
} from '../../src/audit/backends/webhook-backend.js';
import { ConfigError } from '../../src/errors.js';
import { waitFor, withTimeout } from '../helpers/waiting.js';

const pki = createPki();
const TOKEN = 'audit-webhook-secret-token-1234';
const WAIT_MS = 10_000;

// ---- the receiver ------------------------------------------------------------------------------

interface Post {
  readonly path: string;
  readonly status: number | 'hang';
  readonly kind: unknown;
  readonly apiVersion: unknown;
  readonly ids: readonly string[];
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly clientCN: unknown;
  readonly at: number;
}

interface Receiver {
  readonly server: Server;
  readonly port: number;
  readonly posts: Post[];
  /** auditIDs of the POSTs answered 200, in arrival order. */
  accepted(): string[];
}

/** An HTTPS receiver that wants the PKI's client certificate; `answer(n)` for the n-th POST (0-based). */
async function startReceiver(t: Test, answer: (n: number) => number | 'hang' = () => 200): Promise<Receiver> {
  const posts: Post[] = [];
  const server = createServer(
    { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      void readBody(req).then((body) => {
        const status = answer(posts.length);
        const list = JSON.parse(body) as { kind?: unknown; apiVersion?: unknown; items?: { auditID: string }[] };
        posts.push({
          path: req.url ?? '',
          status,
          kind: list.kind,
          apiVersion: list.apiVersion,
          ids: (list.items ?? []).map((item) => item.auditID),
          contentType: req.headers['content-type'],
          authorization: req.headers.authorization,
          clientCN: (req.socket as TLSSocket).getPeerCertificate().subject?.CN,
          at: performance.now(),
        });
        if (status !== 'hang') res.writeHead(status, { 'Content-Type': 'application/json' }).end('{}');
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { server, port, posts, accepted: () => posts.filter((p) => p.status === 200).flatMap((p) => p.ids) };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

// ---- kubeconfig, events, backend -----------------------------------------------------------------

/** Writes the PKI files and a kubeconfig for `server` into `dir`; `cluster`/`user` replace the entries' bodies. */
function writeKubeconfig(dir: string, server: string, entries: { cluster?: string; user?: string } = {}): string {
  writeFileSync(join(dir, 'ca.crt'), pki.caCert);
  writeFileSync(join(dir, 'client.crt'), pki.clientCert);
  writeFileSync(join(dir, 'client.key'), pki.clientKey, { mode: 0o600 });
  const cluster = entries.cluster ?? `server: ${server}\n    certificate-authority: ca.crt`;
  const user = entries.user ?? `client-certificate: client.crt\n    client-key: client.key\n    token: ${TOKEN}`;
  const file = join(dir, `webhook-${Math.random().toString(36).slice(2)}.kubeconfig`);
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: receiver',
      '  cluster:',
      `    ${cluster}`,
      'users:',
      '- name: proxy',
      '  user:',
      `    ${user}`,
      'contexts:',
      '- name: audit',
      '  context: {cluster: receiver, user: proxy}',
      'current-context: audit',
      '',
    ].join('\n'),
  );
  return file;
}

/** An event whose JSON has the same length for every `n` below 10000. */
function event(tag: string, n: number): AuditEvent {
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: `${tag}-${String(n).padStart(4, '0')}`,
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/default/pods',
    verb: 'list',
    user: { username: 'alice', groups: ['system:authenticated'] },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: '2026-01-02T03:04:05.000000Z',
    stageTimestamp: '2026-01-02T03:04:05.001000Z',
  };
}

function ids(tag: string, from: number, to: number): string[] {
  const out: string[] = [];
  for (let n = from; n <= to; n++) out.push(event(tag, n).auditID);
  return out;
}

interface Recorded {
  readonly errors: string[];
  dropped: number;
  delivered: number;
  readonly events: WebhookEvents;
}

function recorder(): Recorded {
  const recorded: Recorded = {
    errors: [],
    dropped: 0,
    delivered: 0,
    events: {
      error: (message) => recorded.errors.push(message),
      dropped: (count) => {
        recorded.dropped += count;
      },
      delivered: (count) => {
        recorded.delivered += count;
      },
    },
  };
  return recorded;
}

async function backend(configFile: string, options: Partial<WebhookBackendOptions> & Pick<WebhookBackendOptions, 'spoolDir'>) {
  const recorded = recorder();
  const target = await loadWebhookTarget(configFile);
  const full: WebhookBackendOptions = {
    configFile,
    mode: 'batch',
    batchMaxSize: 400,
    batchMaxWaitMs: 30,
    initialBackoffMs: 20,
    closeTimeoutMs: 2_000,
    ...options,
  };
  return { recorded, backend: createWebhookBackend(full, target, recorded.events) };
}

/** auditIDs in the spool's segment files, in file order. */
function spooled(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .sort()
    .flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n').filter((line) => line !== ''))
    .map((line) => (JSON.parse(line) as { auditID: string }).auditID);
}

// ---- tests ---------------------------------------------------------------------------------------

void t.test('defaults are kube-apiserver’s', async (t) => {
  t.equal(WEBHOOK_DEFAULTS.mode, 'batch');
  t.equal(WEBHOOK_DEFAULTS.batchMaxSize, 400);
  t.equal(WEBHOOK_DEFAULTS.batchMaxWaitMs, 30_000);
  t.equal(WEBHOOK_DEFAULTS.bufferSize, 10_000);
  t.equal(WEBHOOK_DEFAULTS.initialBackoffMs, 10_000);
});

void t.test('batch mode: EventList batches of at most batch-max-size, a partial one after max-wait, in order', async (t) => {
  const dir = t.testdir();
  const receiver = await startReceiver(t);
  const file = writeKubeconfig(dir, `https://127.0.0.1:${receiver.port}/audit`);
  const { backend: b, recorded } = await backend(file, { spoolDir: join(dir, 'spool'), batchMaxSize: 3, batchMaxWaitMs: 400 });
  const start = performance.now();
  for (let n = 1; n <= 7; n++) b.write(event('b', n));
  await waitFor(() => receiver.posts.length >= 3, WAIT_MS, 'three batches');
  t.same(
    receiver.posts.map((p) => p.ids.length),
    [3, 3, 1],
    'two full batches, then the rest',
  );
  t.ok(receiver.posts[2]!.at - start >= 395, `the partial batch waited for max-wait (${Math.round(receiver.posts[2]!.at - start)} ms)`);
  t.ok(receiver.posts[1]!.at - start < 395, 'full batches did not wait');
  // close() sends what is pending at once, without waiting for max-wait.
  b.write(event('b', 8));
  b.write(event('b', 9));
  await withTimeout(b.close(), WAIT_MS, 'close');
  t.same(receiver.accepted(), ids('b', 1, 9), 'every event once, in order across batches');
  const post = receiver.posts[0]!;
  t.equal(post.path, '/audit', 'POSTed to the server URL');
  t.equal(post.kind, 'EventList');
  t.equal(post.apiVersion, 'audit.k8s.io/v1');
  t.equal(post.contentType, 'application/json');
  t.equal(post.authorization, `Bearer ${TOKEN}`, 'the kubeconfig token');
  t.equal(post.clientCN, 'kube-admin', 'the kubeconfig client certificate');
  t.equal(recorded.delivered, 9);
  t.same(recorded.errors, []);
  t.equal(recorded.dropped, 0);
  t.same(readdirSync(join(dir, 'spool')), [], 'nothing left in the spool');
});

void t.test('blocking mode: one event per POST, in order; write after close is dropped, not thrown', async (t) => {
  const dir = t.testdir();
  const receiver = await startReceiver(t);
  const file = writeKubeconfig(dir, `https://localhost:${receiver.port}/`);
  const { backend: b, recorded } = await backend(file, { spoolDir: join(dir, 'spool'), mode: 'blocking', batchMaxWaitMs: 60_000 });
  for (let n = 1; n <= 5; n++) b.write(event('k', n));
  await waitFor(() => receiver.posts.length >= 5, WAIT_MS, 'five POSTs');
  t.same(
    receiver.posts.map((p) => p.ids),
    ids('k', 1, 5).map((id) => [id]),
    'each event alone, in order, without waiting for max-wait',
  );
  await withTimeout(b.close(), WAIT_MS, 'close');
  t.doesNotThrow(() => b.write(event('k', 6)));
  t.equal(recorded.dropped, 1, 'the late event is counted as dropped');
  t.equal(receiver.posts.length, 5);
});

void t.test('more than buffer-size events in memory go to the spool and on, not dropped, without waiting for max-wait', async (t) => {
  const dir = t.testdir();
  const spoolDir = join(dir, 'spool');
  const receiver = await startReceiver(t);
  const file = writeKubeconfig(dir, `https://127.0.0.1:${receiver.port}/audit`);
  const { backend: b, recorded } = await backend(file, { spoolDir, batchMaxSize: 400, batchMaxWaitMs: 60_000, bufferSize: 4 });
  for (let n = 1; n <= 6; n++) b.write(event('o', n));
  await waitFor(() => receiver.accepted().length >= 6, WAIT_MS, 'the overflowing events');
  t.same(
    receiver.posts.map((p) => p.ids),
    [ids('o', 1, 6)],
    'one batch, from the spool',
  );
  await withTimeout(b.close(), WAIT_MS, 'close');
  t.equal(recorded.dropped, 0);
  t.same(readdirSync(spoolDir), []);
});

void t.test('503 for a while, then recovery: every event delivered exactly once, in order', async (t) => {
  const dir = t.testdir();
  const receiver = await startReceiver(t, (n) => (n < 3 ? 503 : 200));
  const file = writeKubeconfig(dir, `https://127.0.0.1:${receiver.port}/audit`);
  const spoolDir = join(dir, 'spool');
  const { backend: b, recorded } = await backend(file, { spoolDir, batchMaxSize: 4, batchMaxWaitMs: 20, initialBackoffMs: 20 });
  for (let n = 1; n <= 6; n++) b.write(event('r', n));
  await waitFor(() => recorded.errors.length >= 1, WAIT_MS, 'the first failure');
  for (let n = 7; n <= 10; n++) b.write(event('r', n));
  await waitFor(() => receiver.accepted().length >= 10, WAIT_MS, 'all ten events');
  t.equal(receiver.posts.filter((p) => p.status === 503).length, 3, 'three POSTs were refused');
  t.same(receiver.accepted(), ids('r', 1, 10), 'each auditID once, in order');
  t.ok(receiver.posts.every((p) => p.ids.length <= 4), 'batches respect the max size');
  t.equal(recorded.errors.length, 3, 'each failure reported');
  t.match(recorded.errors[0], /POST https:\/\/127\.0\.0\.1:\d+\/audit with \d+ event\(s\) failed: answered 503/);
  await withTimeout(b.close(), WAIT_MS, 'close');
  t.equal(receiver.accepted().length, 10, 'nothing sent twice at close');
  t.equal(recorded.dropped, 0);
  t.same(readdirSync(spoolDir), [], 'the spool is empty again');
});

void t.test('receiver down: events are spooled; a new backend sends them first, in order, then empties the spool', async (t) => {
  const dir = t.testdir();
  const spoolDir = join(dir, 'spool');
  const down = writeKubeconfig(dir, `https://127.0.0.1:${await closedPort()}/audit`);
  const first = await backend(down, { spoolDir, initialBackoffMs: 60_000 });
  for (let n = 1; n <= 5; n++) first.backend.write(event('d', n));
  await waitFor(() => spooled(spoolDir).length >= 5, WAIT_MS, 'the failed batch in the spool');
  t.match(first.recorded.errors[0], /ECONNREFUSED/);
  t.same(spooled(spoolDir), ids('d', 1, 5), 'the failed batch went to the spool, in order');
  for (let n = 6; n <= 8; n++) first.backend.write(event('d', n));
  await withTimeout(first.backend.close(), WAIT_MS, 'close');
  t.same(spooled(spoolDir), ids('d', 1, 8), 'events written during the outage joined it, in order');
  t.equal(first.recorded.dropped, 0);
  t.equal(statSync(spoolDir).mode & 0o777, 0o700, 'spool directory 0700');
  for (const name of readdirSync(spoolDir)) t.equal(statSync(join(spoolDir, name)).mode & 0o777, 0o600, `${name} 0600`);

  const receiver = await startReceiver(t);
  const up = writeKubeconfig(dir, `https://127.0.0.1:${receiver.port}/audit`);
  const second = await backend(up, { spoolDir, batchMaxSize: 3 });
  second.backend.write(event('n', 1));
  second.backend.write(event('n', 2));
  await waitFor(() => receiver.accepted().length >= 10, WAIT_MS, 'spooled and new events');
  t.same(receiver.accepted(), [...ids('d', 1, 8), ...ids('n', 1, 2)], 'the spooled events first, then the new ones');
  t.ok(receiver.posts.every((p) => p.ids.length <= 3), 'the backlog goes in batches of batch-max-size');
  await withTimeout(second.backend.close(), WAIT_MS, 'close');
  t.same(readdirSync(spoolDir), [], 'the spool directory is empty');
  t.same(second.recorded.errors, []);
});

void t.test('a partly delivered spool resumes at its cursor: no event twice, none missing', async (t) => {
  const dir = t.testdir();
  const spoolDir = join(dir, 'spool');
  const down = writeKubeconfig(dir, `https://127.0.0.1:${await closedPort()}/audit`);
  const first = await backend(down, { spoolDir, initialBackoffMs: 60_000 });
  for (let n = 1; n <= 7; n++) first.backend.write(event('c', n));
  await withTimeout(first.backend.close(), WAIT_MS, 'close');
  t.same(spooled(spoolDir), ids('c', 1, 7));

  // Takes the first batch, then hangs: close() gives up on the second at its deadline.
  const flaky = await startReceiver(t, (n) => (n === 0 ? 200 : 'hang'));
  const second = await backend(writeKubeconfig(dir, `https://127.0.0.1:${flaky.port}/audit`), { spoolDir, batchMaxSize: 3, closeTimeoutMs: 300 });
  await waitFor(() => flaky.posts.length >= 2, WAIT_MS, 'the second batch');
  await withTimeout(second.backend.close(), WAIT_MS, 'close');
  t.same(flaky.accepted(), ids('c', 1, 3));

  const receiver = await startReceiver(t);
  const third = await backend(writeKubeconfig(dir, `https://127.0.0.1:${receiver.port}/audit`), { spoolDir });
  await waitFor(() => receiver.accepted().length >= 4, WAIT_MS, 'the rest');
  await withTimeout(third.backend.close(), WAIT_MS, 'close');
  t.same(receiver.accepted(), ids('c', 4, 7), 'only the undelivered events');
  t.same(readdirSync(spoolDir), []);
});

void t.test('a full spool drops exactly the events that do not fit; the rest are delivered later', async (t) => {
  const dir = t.testdir();
  const spoolDir = join(dir, 'spool');
  const lineBytes = Buffer.byteLength(JSON.stringify(event('s', 1))) + 1;
  const down = writeKubeconfig(dir, `https://127.0.0.1:${await closedPort()}/audit`);
  const first = await backend(down, { spoolDir, initialBackoffMs: 60_000, spoolMaxBytes: Math.floor(3.5 * lineBytes) });
  for (let n = 1; n <= 5; n++) first.backend.write(event('s', n));
  await withTimeout(first.backend.close(), WAIT_MS, 'close');
  t.equal(first.recorded.dropped, 2, 'two events did not fit');
  t.ok(first.recorded.errors.some((e) => /spool .* is full .*2 event\(s\) dropped/.test(e)), 'the drop is reported');
  t.same(spooled(spoolDir), ids('s', 1, 3));

  const receiver = await startReceiver(t);
  const second = await backend(writeKubeconfig(dir, `https://127.0.0.1:${receiver.port}/audit`), { spoolDir, spoolMaxBytes: Math.floor(3.5 * lineBytes) });
  await waitFor(() => receiver.accepted().length >= 3, WAIT_MS, 'the kept events');
  // Only now: written while the backlog is still spooled, it would go behind it into a spool that is full.
  second.backend.write(event('s', 6));
  await waitFor(() => receiver.accepted().length >= 4, WAIT_MS, 'the new event');
  await withTimeout(second.backend.close(), WAIT_MS, 'close');
  t.same(receiver.accepted(), [...ids('s', 1, 3), ...ids('s', 6, 6)], 'what was kept, then the new event');
  t.equal(second.recorded.dropped, 0);
});

void t.test('close() with a receiver that never answers: resolves by its deadline and spools the pending events', async (t) => {
  const dir = t.testdir();
  const spoolDir = join(dir, 'spool');
  const receiver = await startReceiver(t, () => 'hang');
  const file = writeKubeconfig(dir, `https://127.0.0.1:${receiver.port}/audit`);
  const { backend: b, recorded } = await backend(file, { spoolDir, batchMaxSize: 2, closeTimeoutMs: 300 });
  for (let n = 1; n <= 4; n++) b.write(event('h', n));
  await waitFor(() => receiver.posts.length >= 1, WAIT_MS, 'the first POST');
  const start = performance.now();
  await withTimeout(b.close(), 3_000, 'close');
  const took = performance.now() - start;
  t.ok(took >= 280 && took < 1_300, `close took ${Math.round(took)} ms for a 300 ms deadline`);
  t.equal(receiver.posts.length, 1, 'one POST at a time');
  t.same(spooled(spoolDir), ids('h', 1, 4), 'the in-flight batch and the rest, in order');
  t.equal(recorded.dropped, 0);
  t.match(recorded.errors.join('\n'), /cut off at the close deadline/);
});

void t.test('blocking-strict marks each delivery failure', async (t) => {
  const dir = t.testdir();
  const down = writeKubeconfig(dir, `https://127.0.0.1:${await closedPort()}/audit`);
  const { backend: b, recorded } = await backend(down, { spoolDir: join(dir, 'spool'), mode: 'blocking-strict', initialBackoffMs: 60_000 });
  b.write(event('x', 1));
  await waitFor(() => recorded.errors.length >= 1, WAIT_MS, 'the failure');
  await withTimeout(b.close(), WAIT_MS, 'close');
  t.match(recorded.errors[0], /blocking-strict: kube-apiserver would have failed these requests/);
  t.same(spooled(join(dir, 'spool')), ids('x', 1, 1));
});

void t.test('a bad --audit-webhook-config-file is one line naming the flag, the file and the field', async (t) => {
  const dir = t.testdir();
  const check = async (file: string, field: RegExp, what: string) => {
    const err = await loadWebhookTarget(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(err, ConfigError, what);
    const message = err instanceof Error ? err.message : '';
    t.match(message, /^--audit-webhook-config-file: /, `${what}: names the flag`);
    t.ok(message.includes(file), `${what}: names the file`);
    t.match(message, field, `${what}: names the field`);
    t.notMatch(message, /\n/, `${what}: one line`);
    t.notOk(message.includes(TOKEN), `${what}: no token`);
  };
  await check(writeKubeconfig(dir, '', { cluster: 'certificate-authority: ca.crt' }), /no server found for cluster "receiver"/, 'missing server');
  await check(
    writeKubeconfig(dir, '', { cluster: 'server: https://127.0.0.1:1/audit\n    certificate-authority: missing-ca.crt' }),
    /unable to read certificate-authority .*missing-ca\.crt/,
    'unreadable CA',
  );
  const notPem = join(dir, 'not-a-ca.crt');
  writeFileSync(notPem, 'hello');
  await check(
    writeKubeconfig(dir, '', { cluster: `server: https://127.0.0.1:1/audit\n    certificate-authority: ${notPem}` }),
    /certificate-authority .*no PEM certificate/,
    'CA without a certificate',
  );
  await check(
    writeKubeconfig(dir, '', { cluster: 'server: ftp://127.0.0.1:1/audit' }),
    /invalid server URL .*must start with https:\/\/ or http:\/\//,
    'not an http(s) server',
  );
  await check(
    writeKubeconfig(dir, '', { cluster: 'server: https://127.0.0.1:1/audit', user: 'exec: {command: x, apiVersion: client.authentication.k8s.io/v1, interactiveMode: Never}' }),
    /exec is not supported/,
    'exec plugin',
  );
  const missing = join(dir, 'nope.kubeconfig');
  await check(missing, /open .*nope\.kubeconfig: no such file or directory/, 'missing file');
});

void t.test('the receiver’s certificate is checked against the kubeconfig CA', async (t) => {
  const dir = t.testdir();
  const receiver = await startReceiver(t);
  const other = createPki();
  writeFileSync(join(dir, 'other-ca.crt'), other.caCert);
  const file = writeKubeconfig(dir, '', { cluster: `server: https://127.0.0.1:${receiver.port}/audit\n    certificate-authority: other-ca.crt` });
  const { backend: b, recorded } = await backend(file, { spoolDir: join(dir, 'spool'), initialBackoffMs: 60_000 });
  b.write(event('t', 1));
  await waitFor(() => recorded.errors.length >= 1, WAIT_MS, 'the TLS failure');
  await withTimeout(b.close(), WAIT_MS, 'close');
  t.equal(receiver.posts.length, 0, 'nothing reached a receiver the CA does not vouch for');
  t.match(recorded.errors[0], /certificate/);
  t.same(spooled(join(dir, 'spool')), ids('t', 1, 1));
});
