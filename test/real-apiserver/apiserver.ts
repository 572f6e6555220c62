// A genuine kube-apiserver (v1.20.2, built by setup.sh into .cache/real-apiserver/) backed by
// Debian's etcd, both on free loopback ports, with a fresh PKI, static tokens and an audit log in a
// temp dir per start. Stops exactly the two processes it started (by their ChildProcess handles:
// SIGTERM, then SIGKILL, bounded), never anything by name.

import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { stringify } from 'yaml';
import { createPki, writePki, type Pki } from '../../examples/pki.js';
import { plant, plantPrivateKey } from '../helpers/planted-secrets.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CACHE = process.env.REAL_APISERVER_CACHE ?? join(ROOT, '.cache', 'real-apiserver');
export const KUBE_APISERVER = join(CACHE, 'bin', 'kube-apiserver');
export const ETCD = process.env.REAL_APISERVER_ETCD ?? '/usr/bin/etcd';

/** Users of the static token file (--token-auth-file). */
export const ADMIN_USER = 'token-admin';
export const NOPERM_USER = 'token-noperm';
/** The client certificate's identity (examples/pki.ts defaults). */
export const CERT_USER = 'kube-admin';

export interface AuditEvent {
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: { username: string; groups?: string[] };
  responseStatus?: { code: number };
}

export interface RealApiServer {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly pki: Pki;
  readonly files: ReturnType<typeof writePki>;
  /** In group system:masters. */
  readonly adminToken: string;
  /** Authenticated, but no RBAC bindings: 403 on resources. */
  readonly nopermToken: string;
  /** Writes a kubeconfig pointing straight at the server (CA file) with these user fields. */
  kubeconfig(user: Record<string, unknown>, name: string): string;
  /** The audit log's events so far. */
  auditEvents(): AuditEvent[];
  /** Waits (bounded) for an audit event matching `match`. */
  waitForAudit(match: (event: AuditEvent) => boolean, timeoutMs?: number): Promise<AuditEvent>;
  /** Direct request to the server, with the admin client certificate unless `headers` has an Authorization: status, headers and raw body. */
  direct(path: string, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>;
  log(): string;
}

/** A port that was free a moment ago: bind port 0 on loopback, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (!running(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; only this child, by its pid. */
async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (!running(child)) return;
  child.kill('SIGTERM');
  if (await exited(child, graceMs)) return;
  child.kill('SIGKILL');
  if (!(await exited(child, 5_000))) throw new Error(`pid ${child.pid} did not exit after SIGKILL`);
}

/** Children still running when this test process exits are killed (by pid) with it. */
const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) if (running(child)) child.kill('SIGKILL');
});

function startLogged(command: string, args: readonly string[], logPath: string): ChildProcess {
  const fd = openSync(logPath, 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

/** Polls `probe` every 200 ms until it resolves true; fails when `child` exits or after `timeoutMs`. */
async function waitFor(what: string, child: ChildProcess, logPath: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!running(child)) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready; log:\n${readFileSync(logPath, 'utf8').slice(-4000)}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs} ms; log:\n${readFileSync(logPath, 'utf8').slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
`;

/**
 * Starts etcd and kube-apiserver in `t.testdir()` and registers their stop with `t.teardown`.
 * Resolves once `/readyz` answers 200 (bounded by `readyTimeoutMs`).
 */
export async function startRealApiServer(t: Test, readyTimeoutMs = 60_000): Promise<RealApiServer> {
  if (!existsSync(KUBE_APISERVER)) throw new Error(`${KUBE_APISERVER} is missing: run bash test/real-apiserver/setup.sh`);
  if (!existsSync(ETCD)) throw new Error(`${ETCD} is missing: run bash test/real-apiserver/setup.sh`);
  const dir = t.testdir({});
  const pki = createPki();
  const files = writePki(join(dir, 'pki'), pki);
  plantPrivateKey(pki.clientKey);
  plantPrivateKey(pki.serverKey);
  const adminToken = `admin-${randomBytes(12).toString('hex')}`;
  const nopermToken = `noperm-${randomBytes(12).toString('hex')}`;
  plant(adminToken, nopermToken);
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(tokenFile, `${adminToken},${ADMIN_USER},uid-admin,"system:masters"\n${nopermToken},${NOPERM_USER},uid-noperm\n`, { mode: 0o600 });
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(dir, 'pki', 'sa.key');
  const saPub = join(dir, 'pki', 'sa.pub');
  writeFileSync(saKey, sa.privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  writeFileSync(saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }));
  const policy = join(dir, 'audit-policy.yaml');
  writeFileSync(policy, AUDIT_POLICY);
  const auditLog = join(dir, 'audit.log');
  mkdirSync(join(dir, 'etcd-data'), { mode: 0o700 });
  mkdirSync(join(dir, 'cert-dir'));

  const [port, etcdPort, etcdPeerPort] = [await freePort(), await freePort(), await freePort()];
  const etcdLog = join(dir, 'etcd.log');
  const etcd = startLogged(ETCD, [
    '--name', 'real-apiserver-test',
    '--data-dir', join(dir, 'etcd-data'),
    '--listen-client-urls', `http://127.0.0.1:${etcdPort}`,
    '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${etcdPeerPort}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeerPort}`,
    '--initial-cluster', `real-apiserver-test=http://127.0.0.1:${etcdPeerPort}`,
  ], etcdLog);
  t.teardown(() => stopChild(etcd));
  await waitFor('etcd', etcd, etcdLog, 20_000, () => httpOk(`http://127.0.0.1:${etcdPort}/health`));

  const apiLog = join(dir, 'kube-apiserver.log');
  const issuer = 'https://kubernetes.default.svc.cluster.local';
  const apiserver = startLogged(KUBE_APISERVER, [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    `--secure-port=${port}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--client-ca-file=${files.caCert}`,
    `--tls-cert-file=${files.serverCert}`,
    `--tls-private-key-file=${files.serverKey}`,
    `--token-auth-file=${tokenFile}`,
    '--authorization-mode=RBAC',
    `--service-account-key-file=${saPub}`,
    `--service-account-signing-key-file=${saKey}`,
    `--service-account-issuer=${issuer}`,
    `--api-audiences=${issuer}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--endpoint-reconciler-type=none',
    `--cert-dir=${join(dir, 'cert-dir')}`,
    '--profiling=false',
    `--audit-policy-file=${policy}`,
    `--audit-log-path=${auditLog}`,
    '--audit-log-mode=blocking',
  ], apiLog);
  // Registered after etcd's: tap runs teardowns in reverse, so the apiserver stops first.
  t.teardown(() => stopChild(apiserver));
  const url = `https://127.0.0.1:${port}`;

  const direct: RealApiServer['direct'] = (path, headers = {}) =>
    new Promise((resolve, reject) => {
      const identity = 'authorization' in headers ? {} : { cert: pki.clientCert, key: pki.clientKey };
      const req = httpsRequest(`${url}${path}`, { ca: pki.caCert, ...identity, headers, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error(`direct ${path}: timeout`)));
      req.end();
    });
  await waitFor('kube-apiserver', apiserver, apiLog, readyTimeoutMs, async () => (await direct('/readyz')).status === 200);

  const auditEvents = (): AuditEvent[] =>
    existsSync(auditLog)
      ? readFileSync(auditLog, 'utf8')
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as AuditEvent)
      : [];
  return {
    url,
    port,
    dir,
    pki,
    files,
    adminToken,
    nopermToken,
    kubeconfig: (user, name) => {
      const path = join(dir, name);
      writeFileSync(path, stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'real', cluster: { server: url, 'certificate-authority': files.caCert } }],
        users: [{ name: 'user', user }],
        contexts: [{ name: 'real', context: { cluster: 'real', user: 'user' } }],
        'current-context': 'real',
      }), { mode: 0o600 });
      return path;
    },
    auditEvents,
    waitForAudit: async (match, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = auditEvents().find(match);
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`no matching audit event within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    direct,
    log: () => readFileSync(apiLog, 'utf8'),
  };
}
