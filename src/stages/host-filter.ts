// `--accept-hosts`: the request's Host header (not the client address, kubernetes/kubectl#142)
// must match a pattern. It defends against DNS rebinding. Unlike kubectl, `[::1]:8001` keeps its
// brackets (kubernetes/kubernetes#77496) and the comparison ignores case, as host names do.

import { ProxyError } from '../errors.js';
import { errorAnswer } from './answers.js';
import { firstMatch, type RuleList } from './rules.js';
import type { Stage } from './stage.js';

/** `Host` without the port: `[::1]:8001` → `[::1]`, `LocalHost:8001` → `localhost`. */
export function hostWithoutPort(hostHeader: string | undefined): string {
  if (hostHeader === undefined) return '';
  const host = hostHeader.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  // More than one colon is not a valid host:port; keep it whole so it matches nothing by accident.
  if (colon === -1 || host.indexOf(':', colon + 1) !== -1) return host;
  return host.slice(0, colon);
}

export function createHostFilter(acceptHosts: RuleList): Stage {
  return {
    name: 'host-filter',
    run(state) {
      if (firstMatch(acceptHosts, state.host) !== undefined) return undefined;
      const shown = state.host === '' ? 'an empty Host header' : `host ${JSON.stringify(state.host)}`;
      return errorAnswer(new ProxyError('KAP_HOST_REJECTED', `forbidden by kube-auth-proxy: ${shown} does not match --accept-hosts`));
    },
  };
}
