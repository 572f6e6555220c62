// --read-only: only reads reach the API server. A read is what kube-apiserver calls get, list or
// watch (observe/request-info.ts names the request as it does), not a method: `POST
// …/selfsubjectaccessreviews` is a create, `DELETE` on a collection a deletecollection. Some gets
// are not reads in any useful sense and are refused too: exec, attach and port-forward over
// WebSocket need only `get` (kubernetes/kubernetes#78741) and run code or open a way in; proxy
// subresources reach past the API server into pods, services and kubelets (nodes/proxy runs
// commands); ephemeral containers are how code is added to a running pod. No upgrade passes.
// `pods/log` is a read and is allowed; non-resource paths (/version, /api, /apis, /openapi, …)
// answer GET and HEAD.

import { ProxyError } from '../errors.js';
import { requestInfo, type RequestInfo } from '../observe/request-info.js';
import { errorAnswer } from './answers.js';
import type { Stage } from './stage.js';

const READ_VERBS = new Set(['get', 'list', 'watch']);
const NON_RESOURCE_READS = new Set(['get', 'head']);
/** Subresources refused whatever the verb, and why. */
const REFUSED_SUBRESOURCES = new Map([
  ['exec', 'runs a command in a container'],
  ['attach', 'attaches to a running container'],
  ['portforward', 'opens a connection into a pod'],
  ['proxy', 'reaches past the API server into a pod, service or node'],
  ['ephemeralcontainers', 'adds code to a running pod'],
]);

function resourceOf(info: RequestInfo): string {
  return info.subresource === '' ? info.resource : `${info.resource}/${info.subresource}`;
}

/** Why --read-only refuses the request (the rule, as the refusal names it), or undefined to let it pass. */
export function readOnlyRefusal(method: string, path: string, query: string, isUpgrade: boolean): string | undefined {
  if (isUpgrade) return 'upgrades (exec, attach, port-forward, any WebSocket or SPDY) are refused';
  const info = requestInfo(method, path, query);
  if (!info.isResourceRequest) {
    return NON_RESOURCE_READS.has(info.verb) ? undefined : `non-resource paths allow only GET and HEAD, not ${method}`;
  }
  if (info.verb === 'proxy') return `the proxy verb ${REFUSED_SUBRESOURCES.get('proxy')!}`;
  const why = REFUSED_SUBRESOURCES.get(info.subresource);
  if (why !== undefined) return `${resourceOf(info)} ${why}, even as a get`;
  if (!READ_VERBS.has(info.verb)) return `only get, list and watch are allowed; this is ${info.verb === '' ? `method ${method}` : `"${info.verb}"`} on ${resourceOf(info)}`;
  if (info.error !== undefined) return `the API server cannot name this request (${info.error})`;
  return undefined;
}

export function createReadOnly(): Stage {
  return {
    name: 'read-only',
    run(state) {
      const rule = readOnlyRefusal(state.method, state.path, state.query, state.isUpgrade);
      if (rule === undefined) return undefined;
      return errorAnswer(new ProxyError('KAP_READ_ONLY', `forbidden by kube-auth-proxy: --read-only: ${rule}`));
    },
  };
}
