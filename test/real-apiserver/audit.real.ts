// The proxy's audit log (--audit-log-path, --audit-policy-file) in front of a genuine kube-apiserver
// 1.20 that keeps its own audit log, driven by real clients (kubectl, plain HTTP). Then:
//  - Kubernetes' own code reads the proxy's log: a Go program (audit-check/main.go, built here in
//    GOPATH mode inside the vendored Kubernetes tree) decodes every line strictly into
//    k8s.io/apiserver audit/v1.Event and evaluates the same policy with k8s.io/apiserver's policy
//    checker: every event's level is the checker's, no stage is one the policy omits;
//  - every proxy event answered upstream is held against kube-apiserver's own event for the same
//    Audit-ID and stage: verb, objectRef, responseStatus.code, the user;
//  - the level the proxy chose is the level the same policy gives the request as kube-apiserver
//    saw it (its user, with the groups the server authenticated);
//  - Secret data is `<redacted>` in the proxy's log, and no secret value is anywhere in it.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { fetchText, type Reply } from '../helpers/http.js';
import { kubectl } from '../helpers/kubectl.js';
import { plant } from '../helpers/planted-secrets.js';
import { isolatedEnv, startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { CACHE, CERT_USER, KUBE_APISERVER, NOPERM_USER, startRealApiServer } from './apiserver.js';

// ---------------------------------------------------------------------------------------------
// The Go checker: built in GOPATH mode inside the vendored Kubernetes 1.20 tree that
// setup.sh unpacked (so that its k8s.io imports are the vendored copies kube-apiserver is built
// from), kept in .cache/real-apiserver/bin with a stamp; rebuilt only when main.go, the Go
// toolchain or the tree's recipe change.

const CHECKER_SOURCE = fileURLToPath(new URL('./audit-check/main.go', import.meta.url));
const GOPATH = join(CACHE, 'gopath');
const K8S_TREE = join(GOPATH, 'src', 'k8s.io', 'kubernetes');
const CHECKER = join(CACHE, 'bin', 'kap-audit-check');
const CHECKER_STAMP = `${CHECKER}.stamp`;
const GO_ENV = { GOPATH, GOCACHE: join(CACHE, 'gocache'), GO111MODULE: 'off', GOPROXY: 'off', GOSUMDB: 'off', CGO_ENABLED: '0', GOFLAGS: '' };

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, bounded by `timeoutMs`; a non-zero exit is returned, not thrown. */
function runCommand(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') {
        reject(new Error(`${command} ${args.join(' ')}: ${err.message}; stderr: ${stderr}`));
        return;
      }
      resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
    });
  });
}

async function buildChecker(): Promise<string> {
  if (!existsSync(join(K8S_TREE, 'vendor', 'k8s.io', 'apiserver', 'pkg', 'audit', 'policy'))) {
    throw new Error(`${K8S_TREE} holds no vendored k8s.io/apiserver: run bash test/real-apiserver/setup.sh`);
  }
  const goVersion = await runCommand('go', ['version'], { env: { ...process.env, ...GO_ENV }, timeoutMs: 30_000 });
  if (goVersion.code !== 0) throw new Error(`go version: ${goVersion.stderr}`);
  const stamp = createHash('sha256')
    .update(readFileSync(CHECKER_SOURCE))
    .update(goVersion.stdout)
    .update(existsSync(`${KUBE_APISERVER}.recipe`) ? readFileSync(`${KUBE_APISERVER}.recipe`) : '')
    .digest('hex');
  if (existsSync(CHECKER) && existsSync(CHECKER_STAMP) && readFileSync(CHECKER_STAMP, 'utf8') === stamp) return CHECKER;
  const dir = join(K8S_TREE, 'cmd', 'kap-audit-check');
  mkdirSync(dir, { recursive: true });
  copyFileSync(CHECKER_SOURCE, join(dir, 'main.go'));
  const built = await runCommand('go', ['build', '-trimpath', '-o', `${CHECKER}.tmp`, './cmd/kap-audit-check'], {
    cwd: K8S_TREE,
    // K8S_TREE is a symlink into the source tree: go takes the directory from $PWD (as a shell's
    // cd sets it) to see it inside GOPATH, where the vendor/ tree applies; getcwd() would not.
    env: { ...process.env, ...GO_ENV, PWD: K8S_TREE },
    timeoutMs: 400_000,
  });
  if (built.code !== 0) throw new Error(`go build of ${CHECKER_SOURCE} failed (${built.code}): ${built.stderr}`);
  renameSync(`${CHECKER}.tmp`, CHECKER);
  writeFileSync(CHECKER_STAMP, stamp);
  return CHECKER;
}

interface LevelLine {
  line: number;
  auditID: string;
  stage: string;
  level: string;
  omitStages: string[];
}

/** `kap-audit-check levels POLICY LOG`: what POLICY gives the request of every event in LOG. */
async function levelsUnder(checker: string, policy: string, log: string): Promise<LevelLine[]> {
  const ran = await runCommand(checker, ['levels', policy, log], { timeoutMs: 60_000 });
  if (ran.code !== 0) throw new Error(`kap-audit-check levels ${policy} ${log} exited ${ran.code}: ${ran.stdout}${ran.stderr}`);
  return ran.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LevelLine);
}

// ---------------------------------------------------------------------------------------------
// Events, as both logs write them.

interface ObjectRef {
  resource?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiGroup?: string;
  apiVersion?: string;
  resourceVersion?: string;
  subresource?: string;
}

interface Event {
  kind: string;
  apiVersion: string;
  level: string;
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: { username: string; groups?: string[] };
  objectRef?: ObjectRef;
  responseStatus?: { code: number; status?: string; reason?: string; message?: string };
  requestObject?: unknown;
  responseObject?: unknown;
  annotations?: Record<string, string>;
}

function readEvents(path: string): Event[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line) as Event;
      } catch (err) {
        throw new Error(`${path} line ${index + 1} is not JSON: ${(err as Error).message}`, { cause: err });
      }
    });
}

const isFinal = (event: Event) => event.stage === 'ResponseComplete' || event.stage === 'Panic';
const ANSWERED_BY = 'kube-auth-proxy/answered-by';
const USER_SOURCE = 'kube-auth-proxy/user-source';
const describe = (event: Event) => `${event.verb} ${event.requestURI} [${event.auditID}]`;

/** The objectRef fields the proxy sets (kube-apiserver may add uid and resourceVersion). */
function comparable(ref: ObjectRef | undefined, withVersion: boolean): Record<string, string> | undefined {
  if (ref === undefined) return undefined;
  const out: Record<string, string> = {};
  const keys: (keyof ObjectRef)[] = ['resource', 'namespace', 'name', 'apiGroup', 'subresource', ...(withVersion ? (['apiVersion'] as const) : [])];
  for (const key of keys) {
    const value = ref[key];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

const NS = 'audit-test';
/** Secrets here are audited at RequestResponse, to see their data redacted both ways. */
const SECRET_NS = 'audit-secrets';

// Mixed levels, stages omitted by one rule, rules on users, groups and verbs. The group rule is
// the one from the Kubernetes documentation's example policy (kubernetes.io/examples/audit/
// audit-policy.yaml: "Don't log authenticated requests to certain non-resource URL paths").
const POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: None
    nonResourceURLs: ["/version", "/healthz*"]
  - level: None
    userGroups: ["system:authenticated"]
    nonResourceURLs: ["/openapi*"]
  - level: RequestResponse
    namespaces: ["${SECRET_NS}"]
    resources:
      - group: ""
        resources: ["secrets"]
  - level: Metadata
    omitStages: ["RequestReceived"]
    resources:
      - group: ""
        resources: ["secrets"]
  - level: RequestResponse
    users: ["${CERT_USER}"]
    verbs: ["delete", "deletecollection"]
    resources:
      - group: ""
        resources: ["configmaps"]
  - level: Request
    resources:
      - group: ""
        resources: ["configmaps"]
  - level: RequestResponse
    resources:
      - group: ""
        resources: ["pods", "pods/*", "namespaces", "serviceaccounts"]
  - level: Metadata
`;

const POD = JSON.stringify({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { app: 'web' } },
  // No token controller runs: a pod that mounts a token is refused until the token Secret exists.
  spec: { automountServiceAccountToken: false, containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
});

void t.test("the proxy's audit log, read by Kubernetes' own code and held against kube-apiserver 1.20's", async (t) => {
  const checker = await buildChecker();
  const server = await startRealApiServer(t);
  const env = isolatedEnv(server.dir);
  const policyFile = join(server.dir, 'proxy-audit-policy.yaml');
  writeFileSync(policyFile, POLICY);
  const clusterPolicy = join(server.dir, 'audit-policy.yaml');
  const clusterLog = join(server.dir, 'audit.log');
  t.ok(existsSync(clusterPolicy), "the cluster's own audit policy is where apiserver.ts writes it");

  const certKubeconfig = server.kubeconfig({ 'client-certificate': server.files.clientCert, 'client-key': server.files.clientKey }, 'cert-kubeconfig');
  const nopermKubeconfig = server.kubeconfig({ token: server.nopermToken }, 'noperm-kubeconfig');
  const auditLog = join(server.dir, 'proxy-audit.log');
  const nopermLog = join(server.dir, 'proxy-noperm-audit.log');
  const start = async (kubeconfig: string, log: string): Promise<ProxyProcess> => {
    const proxy = await startProxyProcess(['--kubeconfig', kubeconfig, '-p', '0', '--audit-log-path', log, '--audit-policy-file', policyFile], { env });
    t.teardown(async () => {
      if (proxy.child.exitCode === null && proxy.child.signalCode === null) await proxy.stop();
    });
    return proxy;
  };
  const proxy = await start(certKubeconfig, auditLog);
  const noperm = await start(nopermKubeconfig, nopermLog);

  const secretValues = {
    plain: `plain-${randomBytes(12).toString('hex')}`,
    full: `full-${randomBytes(12).toString('hex')}`,
    json: `json-${randomBytes(12).toString('hex')}`,
    stringData: `stringdata-${randomBytes(12).toString('hex')}`,
  };
  plant(...Object.values(secretValues));

  const kc = async (via: ProxyProcess, args: string[], input?: string) => {
    const result = await kubectl(via, env, ['--request-timeout', '10s', ...args], input === undefined ? undefined : Buffer.from(input));
    return { code: result.code, stdout: result.stdout.toString('utf8'), stderr: result.stderr };
  };
  const kcOk = async (t: Test, args: string[], input?: string) => {
    const result = await kc(proxy, args, input);
    t.equal(result.code, 0, `kubectl ${args.join(' ')}${result.code === 0 ? '' : `: ${result.stderr}`}`);
    return result.stdout;
  };
  const http = (via: ProxyProcess, method: string, path: string, body?: unknown, type = 'application/json'): Promise<Reply> =>
    fetchText(`${via.url}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': type }, body: JSON.stringify(body) }),
      timeoutMs: 15_000,
    });
  const auditIdOf = (reply: Reply) => {
    const id = reply.headers['audit-id'];
    if (typeof id !== 'string') throw new Error(`no Audit-ID on the reply (${reply.status})`);
    return id;
  };
  /** The Audit-IDs of the plain HTTP requests, by what they were. */
  const ids: Record<string, string> = {};

  await t.test('real clients through the audited proxies', async (t) => {
    await kcOk(t, ['create', 'namespace', NS]);
    await kcOk(t, ['create', 'namespace', SECRET_NS]);
    t.match(await kcOk(t, ['get', 'namespace', NS, '-o', 'jsonpath={.status.phase}']), 'Active');

    // A pod before its namespace has a service account: admission forbids it (403 from the server).
    const noSa = await kc(proxy, ['-n', NS, 'create', '-f', '-'], POD);
    t.not(noSa.code, 0, 'a pod without a service account is refused');
    t.match(noSa.stderr, /forbidden.*service account/i, noSa.stderr);
    await kcOk(t, ['-n', NS, 'create', 'serviceaccount', 'default']);
    await kcOk(t, ['-n', NS, 'create', '-f', '-'], POD);
    t.match(JSON.parse(await kcOk(t, ['-n', NS, 'get', 'pod', 'web', '-o', 'json'])), { metadata: { name: 'web' }, status: { phase: 'Pending' } });
    t.equal(await kcOk(t, ['-n', NS, 'get', 'pods', '-o', 'name']), 'pod/web\n');
    await kcOk(t, ['-n', NS, 'patch', 'pod', 'web', '--type', 'merge', '-p', '{"metadata":{"labels":{"audited":"yes"}}}']);
    t.equal(await kcOk(t, ['-n', NS, 'get', 'pod', 'web', '-o', 'jsonpath={.metadata.labels.audited}']), 'yes');

    await kcOk(t, ['-n', NS, 'create', 'configmap', 'settings', '--from-literal=k=v1']);
    t.same((JSON.parse(await kcOk(t, ['-n', NS, 'get', 'configmap', 'settings', '-o', 'json'])) as { data?: unknown }).data, { k: 'v1' });
    t.equal(await kcOk(t, ['-n', NS, 'get', 'configmaps', '-o', 'name']), 'configmap/settings\n');
    await kcOk(t, ['-n', NS, 'patch', 'configmap', 'settings', '--type', 'merge', '-p', '{"data":{"k":"v2"}}']);
    t.equal(await kcOk(t, ['-n', NS, 'get', 'configmap', 'settings', '-o', 'jsonpath={.data.k}']), 'v2');

    // Secrets: Metadata in NS, RequestResponse in SECRET_NS (their data must be redacted there).
    await kcOk(t, ['-n', NS, 'create', 'secret', 'generic', 'plain', `--from-literal=password=${secretValues.plain}`]);
    const plain = JSON.parse(await kcOk(t, ['-n', NS, 'get', 'secret', 'plain', '-o', 'json'])) as { data: Record<string, string> };
    t.equal(Buffer.from(plain.data.password ?? '', 'base64').toString(), secretValues.plain, 'the client reads the Secret it wrote');
    await kcOk(t, ['-n', SECRET_NS, 'create', 'secret', 'generic', 'full', `--from-literal=password=${secretValues.full}`]);
    const full = JSON.parse(await kcOk(t, ['-n', SECRET_NS, 'get', 'secret', 'full', '-o', 'json'])) as { data: Record<string, string> };
    t.equal(Buffer.from(full.data.password ?? '', 'base64').toString(), secretValues.full);
    // `kubectl create secret generic` sends protobuf (a typed client); `kubectl create -f` sends JSON.
    await kcOk(t, ['-n', SECRET_NS, 'create', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'from-json' }, data: { password: Buffer.from(secretValues.json).toString('base64') },
    }));
    const viaStringData = await http(proxy, 'POST', `/api/v1/namespaces/${SECRET_NS}/secrets`, {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'by-string-data' }, stringData: { token: secretValues.stringData },
    });
    t.equal(viaStringData.status, 201, 'a Secret created with stringData');
    ids.stringDataSecret = auditIdOf(viaStringData);
    const list = JSON.parse(await kcOk(t, ['-n', SECRET_NS, 'get', 'secrets', '-o', 'json'])) as { items: { metadata: { name: string } }[] };
    t.same(list.items.map((item) => item.metadata.name).sort(), ['by-string-data', 'from-json', 'full']);

    // A watch that the server ends after a second.
    const watch = await http(proxy, 'GET', `/api/v1/namespaces/${NS}/configmaps?watch=1&timeoutSeconds=1`);
    t.equal(watch.status, 200, 'the watch ran');
    t.match(watch.body, /"type":"ADDED".*"settings"/, 'and delivered the existing ConfigMap');
    ids.watch = auditIdOf(watch);

    // exec: refused by the proxy's filter (no --allow-exec), by kubectl and by plain HTTP.
    const exec = await kc(proxy, ['-n', NS, 'exec', 'web', '--', 'true']);
    t.not(exec.code, 0, 'kubectl exec is refused');
    t.match(exec.stderr, /forbidden|403/i, exec.stderr);
    const execHttp = await http(proxy, 'POST', `/api/v1/namespaces/${NS}/pods/web/exec?command=true&stdout=true`);
    t.equal(execHttp.status, 403, 'exec over plain HTTP is refused by the proxy');
    ids.exec = auditIdOf(execHttp);

    // A 404 from the server, by HTTP and by kubectl.
    const missing = await http(proxy, 'GET', `/api/v1/namespaces/${NS}/configmaps/missing`);
    t.equal(missing.status, 404);
    ids.notFound = auditIdOf(missing);
    const missingKc = await kc(proxy, ['-n', NS, 'get', 'configmap', 'missing-too']);
    t.match(missingKc.stderr, /not found/, 'kubectl: NotFound');

    // 403s from RBAC: the token user with no bindings, through the second proxy.
    const forbidden = await http(noperm, 'GET', `/api/v1/namespaces/${NS}/configmaps`);
    t.equal(forbidden.status, 403, 'RBAC refuses the noperm user');
    ids.forbidden = auditIdOf(forbidden);
    const forbiddenKc = await kc(noperm, ['-n', NS, 'get', 'secrets']);
    t.match(forbiddenKc.stderr, new RegExp(`forbidden.*${NOPERM_USER}`), forbiddenKc.stderr);

    // Not audited (None), but answered.
    for (const path of ['/version', '/healthz', '/healthz/ping']) {
      const reply = await http(proxy, 'GET', path);
      t.equal(reply.status, 200, path);
      ids[path] = auditIdOf(reply);
    }

    // Deletes; then a write into a namespace being terminated (403 from the server's admission).
    await kcOk(t, ['-n', NS, 'delete', 'configmap', 'settings']);
    await kcOk(t, ['-n', NS, 'delete', 'pod', 'web', '--wait=false']);
    await kcOk(t, ['delete', 'namespace', SECRET_NS, '--wait=false']);
    const late = await http(proxy, 'POST', `/api/v1/namespaces/${SECRET_NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late' } });
    t.equal(late.status, 403, 'no new content in a terminating namespace');
    ids.terminating = auditIdOf(late);
  });

  t.equal(await proxy.stop(), 0, 'the proxy exits 0 on SIGTERM');
  t.equal(await noperm.stop(), 0, 'the noperm proxy exits 0 on SIGTERM');
  const events = readEvents(auditLog);
  const nopermEvents = readEvents(nopermLog);
  const bothLogs = [...events, ...nopermEvents];
  t.comment(`proxy audit log: ${events.length} events; noperm proxy: ${nopermEvents.length}`);

  await t.test("Kubernetes' own code decodes every event strictly and finds the policy's level and stages", async (t) => {
    for (const [log, count] of [[auditLog, events.length], [nopermLog, nopermEvents.length]] as const) {
      const ran = await runCommand(checker, [log, policyFile], { timeoutMs: 60_000 });
      t.equal(ran.code, 0, `kap-audit-check ${log}: exit 0${ran.code === 0 ? '' : `\n${ran.stdout}${ran.stderr}`}`);
      t.match(ran.stdout, new RegExp(`^${count} events decoded, ${count} checked against the policy$`, 'm'), `every one of the ${count} lines decoded and checked`);
      t.ok(count > 0, 'the log is not empty');
    }
  });

  await t.test('the events the requests made', async (t) => {
    const finalsOf = (id: string) => bothLogs.filter((e) => e.auditID === id && isFinal(e));
    const one = (t: Test, what: string, id: string): Event | undefined => {
      const finals = finalsOf(id);
      t.equal(finals.length, 1, `${what}: exactly one final event`);
      return finals[0];
    };
    const finalIds = new Map<string, number>();
    for (const e of bothLogs.filter(isFinal)) finalIds.set(e.auditID, (finalIds.get(e.auditID) ?? 0) + 1);
    t.same([...finalIds].filter(([, n]) => n !== 1), [], 'no request has more than one final event');
    for (const e of events) t.equal(e.annotations?.[USER_SOURCE], 'client-certificate', `${describe(e)}: user from the client certificate`);
    for (const e of events) t.same(e.user, { username: CERT_USER, groups: ['system:masters', 'system:authenticated'] }, `${describe(e)}: the certificate's CN and O, and system:authenticated as kube-apiserver adds`);

    for (const path of ['/version', '/healthz', '/healthz/ping']) {
      t.same(bothLogs.filter((e) => e.auditID === ids[path]), [], `${path}: None, no event`);
    }

    const levels = new Set(events.map((e) => e.level));
    t.same([...levels].sort(), ['Metadata', 'Request', 'RequestResponse'], 'the policy gave all three levels');

    // kubectl 1.32's `create configmap` and `create secret generic` (typed clients) send and accept
    // application/vnd.kubernetes.protobuf. kube-apiserver decodes whatever it was sent and writes
    // requestObject and responseObject as JSON (k8s.io/apiserver pkg/audit/request.go); the proxy has
    // no schemas to decode protobuf: it names the object (objectRef) and says why no body is written.
    const cmCreate = events.find((e) => e.verb === 'create' && e.objectRef?.resource === 'configmaps' && e.objectRef.namespace === NS && isFinal(e));
    t.match(cmCreate, { level: 'Request', objectRef: { name: 'settings' }, responseStatus: { code: 201 }, annotations: { 'kube-auth-proxy/request-object': /^protobuf .*not decoded/ } },
      'ConfigMap create by kubectl (a protobuf body): Request, named from the protobuf body, the body not decoded (a known limit)');
    t.notOk(cmCreate?.requestObject, 'no request object from protobuf');
    t.notOk(cmCreate && 'responseObject' in cmCreate, 'and no response body at Request');
    const cmDelete = events.find((e) => e.verb === 'delete' && e.objectRef?.resource === 'configmaps' && e.objectRef.name === 'settings' && isFinal(e));
    t.match(cmDelete, { level: 'RequestResponse', responseStatus: { code: 200 } }, "ConfigMap delete by the certificate's user: RequestResponse (users + verbs rule)");
    t.ok(cmDelete?.responseObject !== undefined, 'with the response body');
    const podCreate = events.find((e) => e.verb === 'create' && e.objectRef?.resource === 'pods' && isFinal(e) && e.responseStatus?.code === 201);
    t.match(podCreate, { level: 'RequestResponse', requestObject: { kind: 'Pod' }, responseObject: { kind: 'Pod', metadata: { name: 'web', namespace: NS } } }, 'pod create: RequestResponse, both bodies');
    const podForbidden = events.find((e) => e.verb === 'create' && e.objectRef?.resource === 'pods' && isFinal(e) && e.responseStatus?.code === 403);
    t.match(podForbidden, { responseStatus: { status: 'Failure', reason: 'Forbidden' }, annotations: { [ANSWERED_BY]: 'upstream' } }, "pod without service account: the server's 403");
    const podPatch = events.find((e) => e.verb === 'patch' && e.objectRef?.resource === 'pods' && isFinal(e));
    t.match(podPatch, { level: 'RequestResponse', objectRef: { name: 'web', namespace: NS }, responseStatus: { code: 200 } }, 'pod patch');
    t.ok(events.some((e) => e.stage === 'RequestReceived' && e.level === 'RequestResponse'), 'RequestReceived is written where no rule omits it');

    const plainSecretEvents = events.filter((e) => e.objectRef?.resource === 'secrets' && e.objectRef.namespace === NS);
    t.ok(plainSecretEvents.length >= 2, `Secrets in ${NS}: ${plainSecretEvents.length} events`);
    for (const e of plainSecretEvents) {
      t.equal(e.level, 'Metadata', `${describe(e)}: Metadata`);
      t.not(e.stage, 'RequestReceived', `${describe(e)}: RequestReceived omitted by the rule`);
      t.notOk('requestObject' in e || 'responseObject' in e, `${describe(e)}: no bodies`);
    }
    const redacted = (data: unknown) => typeof data === 'object' && data !== null && Object.values(data).length > 0 && Object.values(data).every((value) => value === '<redacted>');
    // The two kubectl creates in SECRET_NS, in the order they were made (one after the other).
    const [protobufCreate, jsonCreate] = events.filter((e) => e.verb === 'create' && e.objectRef?.resource === 'secrets' && e.objectRef.namespace === SECRET_NS && isFinal(e) && e.auditID !== ids.stringDataSecret);
    t.match(jsonCreate, { level: 'RequestResponse', requestObject: { kind: 'Secret', metadata: { name: 'from-json' }, data: { password: '<redacted>' } }, responseObject: { kind: 'Secret', data: { password: '<redacted>' } } },
      'Secret create (kubectl create -f, JSON): data redacted both ways');
    t.match(protobufCreate, { level: 'RequestResponse', objectRef: { name: 'full' }, annotations: { 'kube-auth-proxy/request-object': /^protobuf .*not decoded/, 'kube-auth-proxy/response-object': /^protobuf .*not decoded/ } },
      'Secret create (kubectl create secret generic, a protobuf body): named, the bodies not decoded (a known limit), so no secret value can leak');
    t.notOk(protobufCreate?.requestObject ?? protobufCreate?.responseObject, 'no objects from protobuf');
    const stringData = one(t, 'Secret create with stringData', ids.stringDataSecret!);
    t.match(stringData, { level: 'RequestResponse', requestObject: { stringData: { token: '<redacted>' } }, responseObject: { data: { token: '<redacted>' } } }, 'Secret create (stringData): redacted both ways');
    const fullGet = events.find((e) => e.verb === 'get' && e.objectRef?.resource === 'secrets' && e.objectRef.name === 'full' && isFinal(e));
    t.ok(redacted((fullGet?.responseObject as { data?: unknown } | undefined)?.data), 'Secret get: data redacted');
    const fullList = events.find((e) => e.verb === 'list' && e.objectRef?.resource === 'secrets' && e.objectRef.namespace === SECRET_NS && isFinal(e));
    const items = (fullList?.responseObject as { kind?: string; items?: { data?: unknown }[] } | undefined)?.items ?? [];
    t.equal(items.length, 3, 'SecretList in the log');
    t.ok(items.every((item) => redacted(item.data)), "every item's data redacted");
    const text = readFileSync(auditLog, 'utf8') + readFileSync(nopermLog, 'utf8');
    for (const [name, value] of Object.entries(secretValues)) {
      t.notOk(text.includes(value), `secret value "${name}" is nowhere in the audit logs`);
      t.notOk(text.includes(Buffer.from(value).toString('base64')), `nor its base64 "${name}"`);
    }

    const watchEvents = events.filter((e) => e.auditID === ids.watch);
    t.same(watchEvents.map((e) => e.stage), ['RequestReceived', 'ResponseStarted', 'ResponseComplete'], 'watch: RequestReceived, ResponseStarted, ResponseComplete');
    t.match(watchEvents.at(-1), { verb: 'watch', level: 'Request', responseStatus: { code: 200 }, annotations: { [ANSWERED_BY]: 'upstream' } });
    t.notOk(watchEvents.some((e) => 'responseObject' in e), 'no responseObject for a stream');

    const execEvent = one(t, 'exec over HTTP', ids.exec!);
    t.match(execEvent, {
      level: 'RequestResponse', verb: 'create',
      objectRef: { resource: 'pods', subresource: 'exec', name: 'web', namespace: NS },
      responseStatus: { code: 403, reason: 'Forbidden' },
      annotations: { [ANSWERED_BY]: 'proxy', 'kube-auth-proxy/code': 'KAP_FILTER_REJECTED' },
    }, "exec: the proxy's own refusal");
    const kubectlExec = events.filter((e) => e.objectRef?.subresource === 'exec' && isFinal(e) && e.auditID !== ids.exec);
    t.ok(kubectlExec.length >= 1, `kubectl exec: ${kubectlExec.length} refused attempt(s) logged`);
    for (const e of kubectlExec) t.match(e, { responseStatus: { code: 403 }, annotations: { [ANSWERED_BY]: 'proxy', 'kube-auth-proxy/code': 'KAP_FILTER_REJECTED' } }, describe(e));

    t.match(one(t, '404', ids.notFound!), { responseStatus: { code: 404, reason: 'NotFound', status: 'Failure' }, annotations: { [ANSWERED_BY]: 'upstream' } }, "404: the server's NotFound");
    t.match(one(t, '403 RBAC', ids.forbidden!), {
      user: { username: 'user' }, responseStatus: { code: 403, reason: 'Forbidden' }, annotations: { [ANSWERED_BY]: 'upstream', [USER_SOURCE]: 'kubeconfig-user' },
    }, "403: the server's Forbidden; the token user is named by the kubeconfig user's name");
    t.match(one(t, '403 terminating', ids.terminating!), { responseStatus: { code: 403, reason: 'Forbidden' }, annotations: { [ANSWERED_BY]: 'upstream' } }, "403: the namespace is being terminated");
  });

  // kube-apiserver writes an event once its handler has returned: the client may have its answer first.
  const kubeEventsFor = async (wanted: readonly Event[], timeoutMs = 15_000): Promise<Event[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const kube = readEvents(clusterLog);
      const have = new Set(kube.map((e) => `${e.auditID} ${e.stage}`));
      if (wanted.every((e) => have.has(`${e.auditID} ${e.stage}`)) || Date.now() > deadline) return kube;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  await t.test("every event answered upstream agrees with kube-apiserver's own event for the same Audit-ID", async (t) => {
    const clusterLevels = new Map<string, LevelLine>();
    for (const [log, logEvents] of [[auditLog, events], [nopermLog, nopermEvents]] as const) {
      for (const level of await levelsUnder(checker, clusterPolicy, log)) clusterLevels.set(`${logEvents[level.line - 1]!.auditID} ${level.stage}`, level);
    }
    const compared = bothLogs.filter((e) => {
      if (e.stage !== 'ResponseComplete' || e.annotations?.[ANSWERED_BY] !== 'upstream') return false;
      const cluster = clusterLevels.get(`${e.auditID} ${e.stage}`);
      return cluster !== undefined && cluster.level !== 'None' && !cluster.omitStages.includes(e.stage);
    });
    t.ok(compared.length >= 30, `${compared.length} events to compare`);
    const kube = await kubeEventsFor(compared);
    const kubeByKey = new Map(kube.map((e) => [`${e.auditID} ${e.stage}`, e]));
    // What the proxy's policy gives each request as the server saw it (its user and groups).
    const kubeView = new Map((await levelsUnder(checker, policyFile, clusterLog)).map((level) => [`${level.auditID} ${level.stage}`, level]));

    const firstCert = compared.find((e) => e.annotations?.[USER_SOURCE] === 'client-certificate');
    const firstKube = firstCert === undefined ? undefined : kubeByKey.get(`${firstCert.auditID} ${firstCert.stage}`);
    t.same([...(firstCert?.user.groups ?? [])].sort(), [...(firstKube?.user.groups ?? [])].sort(),
      `user.groups: the certificate's O values, and what the server authenticated (${firstCert === undefined ? '' : describe(firstCert)})`);

    for (const e of compared) {
      const theirs = kubeByKey.get(`${e.auditID} ${e.stage}`);
      if (theirs === undefined) {
        t.fail(`${describe(e)}: kube-apiserver has no ${e.stage} event with this Audit-ID`);
        continue;
      }
      t.equal(e.verb, theirs.verb, `${describe(e)}: verb`);
      t.same(comparable(e.objectRef, true), comparable(theirs.objectRef, e.objectRef?.apiVersion !== undefined), `${describe(e)}: objectRef`);
      t.equal(e.responseStatus?.code, theirs.responseStatus?.code, `${describe(e)}: responseStatus.code`);
      if (e.annotations?.[USER_SOURCE] === 'client-certificate') {
        t.equal(e.user.username, theirs.user.username, `${describe(e)}: user.username`);
        const missing = (e.user.groups ?? []).filter((group) => !(theirs.user.groups ?? []).includes(group));
        t.same(missing, [], `${describe(e)}: every group the proxy names is one the server authenticated`);
      }
      const level = kubeView.get(`${e.auditID} ${e.stage}`);
      t.equal(e.level, level?.level, `${describe(e)}: level = what the same policy gives the request as the server authenticated it (${theirs.user.username}, groups ${(theirs.user.groups ?? []).join(',')})`);
    }
  });
});
