// Absolute-form requests (`GET http://127.0.0.1:8001/api/v1/pods HTTP/1.1`) are what a client
// sends to a forward proxy: Go sends them for an http:// server behind a `proxy-url`, which is how
// the kubeconfig of --write-kubeconfig carries the caller token. The proxy serves them when they
// name its own listener: the Host check judges the host name (request-handler.ts reads it from
// the target), and this stage the port. A target naming any other port was meant for another
// server, and the proxy is no forward proxy: it must not answer in that server's place with the
// cluster's credentials (a client whose HTTP_PROXY points here by mistake, say).

import { ProxyError } from '../errors.js';
import { errorAnswer } from './answers.js';
import type { Stage } from './stage.js';

const ABSOLUTE_FORM = /^(https?):\/\/(?:\[[^\]]*\]|[^/?#:]*)(?::(\d*))?/i;

/** The port an absolute-form target names (its scheme's default when none is written), or undefined for origin-form. */
export function absoluteFormPort(target: string): number | undefined {
  const match = ABSOLUTE_FORM.exec(target);
  if (match === null) return undefined;
  const [, scheme = '', port = ''] = match;
  if (port !== '') return Number(port);
  return scheme.toLowerCase() === 'https' ? 443 : 80;
}

export function createOwnAuthority(): Stage {
  return {
    name: 'own-authority',
    run(state) {
      const named = absoluteFormPort(state.req.url ?? '');
      const own = state.req.socket.localPort;
      // A unix socket has no port to compare; HTTP/2 targets are never absolute-form.
      if (named === undefined || own === undefined || named === own) return undefined;
      return errorAnswer(new ProxyError('KAP_HOST_REJECTED', `forbidden by kube-auth-proxy: the request target names port ${named}, not this proxy's port ${own}; kube-auth-proxy is not a forward proxy`));
    },
  };
}
