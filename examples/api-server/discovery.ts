// Discovery, health and namespace endpoints of the example API server: enough of kube-apiserver
// for kubectl and client libraries to find the core v1 API.
import { matches, type RequestContext, type Route } from './context.js';
import { sendJson, sendStatus } from './respond.js';

/** The version the example server claims to be. */
export const EXAMPLE_VERSION = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.0-kube-auth-proxy-example',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.24.0',
  compiler: 'gc',
  platform: 'linux/amd64',
} as const;

const RESOURCES = {
  kind: 'APIResourceList',
  groupVersion: 'v1',
  resources: [
    { name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['get', 'list'], shortNames: ['ns'] },
    { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'delete', 'get', 'list', 'watch'], shortNames: ['po'] },
  ],
};

function namespaceObject(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

function documentFor(ctx: RequestContext): unknown {
  const { segments: s, store } = ctx;
  if (matches(s, 'version')) return EXAMPLE_VERSION;
  if (matches(s, 'api')) {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: ctx.serverAddress }] };
  }
  if (matches(s, 'apis')) return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
  if (matches(s, 'api', 'v1')) return RESOURCES;
  if (matches(s, 'api', 'v1', 'namespaces')) {
    return { kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: store.resourceVersion() }, items: store.namespaces().map(namespaceObject) };
  }
  if (matches(s, 'api', 'v1', 'namespaces', '*') && store.namespaces().includes(s[3]!)) return namespaceObject(s[3]!);
  return undefined;
}

/** `/version`, `/api`, `/apis`, `/api/v1`, namespaces, and `/healthz`, `/livez`, `/readyz`. */
export const discoveryRoute: Route = (ctx) => {
  const { segments, res, method } = ctx;
  const health = segments.length === 1 && ['healthz', 'livez', 'readyz'].includes(segments[0]!);
  const document = health ? 'ok' : documentFor(ctx);
  if (document === undefined) {
    if (!matches(segments, 'api', 'v1', 'namespaces', '*')) return false;
    sendStatus(res, 404, `namespaces "${segments[3]}" not found`, { name: segments[3], kind: 'namespaces' });
    return true;
  }
  if (method !== 'GET' && method !== 'HEAD') {
    sendStatus(res, 405, 'the server does not allow this method on the requested resource');
  } else if (health) {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 }).end('ok');
  } else {
    sendJson(res, 200, document);
  }
  return true;
};
