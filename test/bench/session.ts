// Brings up what the bench runs against: the upstream in its own process, kubectl proxy and
// kube-auth-proxy in front of it, all warmed up, with each proxy's idle RSS taken before load.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { PKI_FILES } from '../../examples/pki.js';
import { AUDIT_TARGETS, cellPath, CELLS, UI_TARGETS, type Target, type TargetName } from './cells.js';
import type { BenchOptions, UpstreamKind } from './options.js';
import { writeFileSync } from 'node:fs';
import { probe } from './probe.js';
import { memory } from './proc-stats.js';
import { startKubectlProxy, startOurProxy, startUpstream, type BenchChild } from './processes.js';

/** Enough to load lazily-required code and open pooled connections, not enough to be load. */
const WARM_UP_REQUESTS = 20;
/** Lets the warm-up's garbage and sockets settle before idle RSS is read. */
const IDLE_SETTLE_MS = 2000;

export interface Session {
  targets: Target[];
  children: BenchChild[];
  idleRssMiB: Partial<Record<TargetName, number>>;
}

/** The environment of every child: no kubeconfig of this machine, HOME in the scratch dir. */
export function childEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir };
  delete env.KUBECONFIG;
  return env;
}

function check(failure: string | undefined, what: string): void {
  if (failure !== undefined) throw new Error(`${what}: ${failure}`);
}

/** A few small GETs and one ~100 KB list; the 20 MB list is left out so idle RSS stays idle. */
async function warmUp(target: Target, upstream: UpstreamKind): Promise<void> {
  for (let i = 0; i < WARM_UP_REQUESTS; i++) check(await probe(target, '/version'), `warm-up of ${target.name}`);
  check(await probe(target, cellPath(CELLS[2]!, upstream)), `warm-up of ${target.name}`);
}

function proxyTarget(name: TargetName, started: { child: BenchChild; url: string }): Target {
  return { name, url: started.url, headers: [], pid: started.child.pid, exitReason: started.child.exitReason };
}

/**
 * With --ui: ours with the live view and nobody watching, and ours with a page subscribed to its
 * events (a streaming GET of /ui/events, read and dropped, as an open browser tab would take them).
 */
async function startUiTargets(kubeconfig: string, options: BenchOptions, env: NodeJS.ProcessEnv, children: BenchChild[]): Promise<Target[]> {
  const targets: Target[] = [];
  for (const name of UI_TARGETS) {
    const started = await startOurProxy(kubeconfig, options.nodeFlags, [...options.proxyFlags, '--ui', '--metrics-address', '127.0.0.1:0'], env);
    children.push(started.child);
    targets.push(proxyTarget(name, started));
    if (name !== 'ours-ui-page') continue;
    const view = /^Live view of the traffic: (\S+)$/m.exec(started.stdout)?.[1];
    if (view === undefined) throw new Error('kube-auth-proxy --ui printed no "Live view of the traffic" line');
    await subscribe(`${view}events`);
  }
  return targets;
}

/** Opens an event stream and reads it until the process ends; resolves once its 200 arrived. */
function subscribe(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`${url}: ${res.statusCode}`));
      req.setTimeout(0);
      res.resume();
      resolve();
    });
    req.once('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${url}: no answer within 10 s`)));
  });
}

/** Starts everything in `dir` (a scratch directory); on failure, what did start is in `children`. */
export async function startSession(dir: string, options: BenchOptions, children: BenchChild[], log: (line: string) => void): Promise<Session> {
  const env = childEnv(dir);
  const token = randomBytes(16).toString('hex');
  const pkiDir = join(dir, 'pki');
  const upstream = await startUpstream(options.upstream, pkiDir, token, env);
  children.push(upstream.child);
  log(`upstream listening on ${upstream.url}`);
  const ca = readFileSync(join(pkiDir, PKI_FILES.caCert), 'utf8');
  const direct: Target = { name: 'direct', url: upstream.url, headers: [`Authorization: Bearer ${token}`], ca, exitReason: upstream.child.exitReason };
  // The upstream builds each list once; doing it now keeps that out of the first measured cell.
  // The upgrade cell is no GET; it is warmed up after idle RSS is read (run.ts).
  for (const cell of CELLS) if (cell.kind === undefined) check(await probe(direct, cellPath(cell, options.upstream), 120_000), 'upstream warm-up');
  const kubectl = await startKubectlProxy(upstream.kubeconfig, env);
  children.push(kubectl.child);
  const ours = await startOurProxy(upstream.kubeconfig, options.nodeFlags, options.proxyFlags, env);
  children.push(ours.child);
  log(`kubectl proxy on ${kubectl.url}, kube-auth-proxy on ${ours.url}`);
  const targets = [direct, proxyTarget('kubectl', kubectl), proxyTarget('ours', ours)];
  if (options.audit) {
    // Every request at RequestResponse: lists are resource requests, so their bodies are kept (up to --audit-body-limit).
    const policy = join(dir, 'audit-request-response.yaml');
    writeFileSync(policy, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: RequestResponse\n');
    const levels: Record<(typeof AUDIT_TARGETS)[number], string[]> = {
      'ours-audit': ['--audit-log-path', join(dir, 'audit-metadata.log')],
      'ours-audit-rr': ['--audit-log-path', join(dir, 'audit-request-response.log'), '--audit-policy-file', policy],
    };
    for (const name of AUDIT_TARGETS) {
      const audited = await startOurProxy(upstream.kubeconfig, options.nodeFlags, [...options.proxyFlags, ...levels[name]], env);
      children.push(audited.child);
      targets.push(proxyTarget(name, audited));
    }
    log('kube-auth-proxy with audit logs at Metadata and RequestResponse also started');
  }
  if (options.ui) targets.push(...(await startUiTargets(upstream.kubeconfig, options, env, children)));
  for (const target of targets) await warmUp(target, options.upstream);
  await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
  return { targets, children, idleRssMiB: readRss(targets) };
}

/** Current VmRSS of each proxy. */
export function readRss(targets: readonly Target[]): Partial<Record<TargetName, number>> {
  const rss: Partial<Record<TargetName, number>> = {};
  for (const target of targets) if (target.pid !== undefined) rss[target.name] = memory(target.pid).rssMiB;
  return rss;
}
