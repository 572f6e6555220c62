// Pod endpoints of the example API server: list, get, create, delete and watch, namespaced or
// across namespaces, including the legacy `/api/v1/watch/...` paths.
import { matches, type RequestContext, type Route } from './context.js';
import type { PodTemplate } from './pods.js';
import { sendJson, sendStatus } from './respond.js';
import { serveWatch, wantsWatch } from './watch.js';

/** A DNS-1123 subdomain, what kube-apiserver accepts as a pod name. */
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function notFound(ctx: RequestContext, name: string): void {
  sendStatus(ctx.res, 404, `pods "${name}" not found`, { name, kind: 'pods' });
}

function sendList(ctx: RequestContext, namespace: string | undefined): void {
  if (wantsWatch(ctx.query)) return serveWatch(ctx, namespace);
  const items = ctx.store.list(namespace);
  sendJson(ctx.res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: ctx.store.resourceVersion() }, items });
}

type PodBody = { metadata?: { name?: unknown; generateName?: unknown; labels?: Record<string, string> }; spec?: PodTemplate['spec'] };

/** The pod to create, or the status code and message to refuse it with. */
function parsePod(ctx: RequestContext): { name: string; template: PodTemplate } | { code: number; message: string } {
  const content = ctx.body.content;
  if (content === undefined) return { code: 413, message: 'the request body is too large' };
  let input: PodBody;
  try {
    input = JSON.parse(content.toString('utf8')) as PodBody;
  } catch (err) {
    return { code: 400, message: `error decoding pod: ${(err as Error).message}` };
  }
  const { name, generateName, labels } = input.metadata ?? {};
  // generateName gets five random characters, as kube-apiserver appends.
  const generated = typeof generateName === 'string' ? generateName + Math.random().toString(36).slice(2, 7) : undefined;
  const chosen = typeof name === 'string' && name !== '' ? name : generated;
  if (chosen === undefined || !NAME.test(chosen)) {
    return { code: 422, message: `Pod "${chosen ?? ''}" is invalid: metadata.name: Invalid value` };
  }
  return { name: chosen, template: { labels, spec: input.spec } };
}

function createPod(ctx: RequestContext, namespace: string): void {
  if (!ctx.store.namespaces().includes(namespace)) {
    return sendStatus(ctx.res, 404, `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
  }
  const input = parsePod(ctx);
  if ('code' in input) return sendStatus(ctx.res, input.code, input.message);
  const pod = ctx.store.create(namespace, input.name, 'Pending', input.template);
  if (pod) return sendJson(ctx.res, 201, pod);
  sendStatus(ctx.res, 409, `pods "${input.name}" already exists`, { name: input.name, kind: 'pods' });
}

function onePod(ctx: RequestContext, namespace: string, name: string): void {
  const { method, store, res } = ctx;
  const pod = method === 'DELETE' ? store.delete(namespace, name) : method === 'GET' ? store.get(namespace, name) : null;
  if (pod === null) return sendStatus(res, 405, 'the server does not allow this method on the requested resource');
  if (!pod) return notFound(ctx, name);
  sendJson(res, 200, pod);
}

/** Every pod endpoint; other paths fall through. */
export const podRoute: Route = (ctx) => {
  const { segments: s, method, res } = ctx;
  const namespaced = matches(s, 'api', 'v1', 'namespaces', '*', 'pods');
  if (namespaced || matches(s, 'api', 'v1', 'pods')) {
    const namespace = namespaced ? s[3] : undefined;
    if (method === 'GET') sendList(ctx, namespace);
    else if (method === 'POST' && namespace !== undefined) createPod(ctx, namespace);
    else sendStatus(res, 405, 'the server does not allow this method on the requested resource');
  } else if (matches(s, 'api', 'v1', 'namespaces', '*', 'pods', '*')) {
    onePod(ctx, s[3]!, s[5]!);
  } else if (matches(s, 'api', 'v1', 'watch', 'namespaces', '*', 'pods') || matches(s, 'api', 'v1', 'watch', 'pods')) {
    if (method === 'GET') serveWatch(ctx, s.length === 6 ? s[4] : undefined);
    else sendStatus(res, 405, 'the server does not allow this method on the requested resource');
  } else {
    return false;
  }
  return true;
};
