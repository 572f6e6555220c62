// `--api-prefix` (kubectl pkg/proxy/proxy_server.go NewProxyHandler + stripLeaveSlash): requests
// outside it are 404, the bare prefix redirects to its slash form, and the prefix is stripped
// before filtering and forwarding unless it begins with `/api` (then the full path is forwarded).

import { ProxyError } from '../errors.js';
import { errorAnswer, movedPermanently } from './answers.js';
import type { Stage } from './stage.js';

/** kubectl strips a prefix only when it does not begin with `/api`. */
export function stripsApiPrefix(prefix: string): boolean {
  return !prefix.startsWith('/api');
}

export function createApiPrefix(prefix: string): Stage {
  const bare = prefix.slice(0, -1);
  const strip = stripsApiPrefix(prefix);
  return {
    name: 'api-prefix',
    run(state) {
      if (bare !== '' && state.path === bare) return movedPermanently(prefix + state.query);
      if (!state.path.startsWith(prefix)) {
        return errorAnswer(new ProxyError('KAP_OUTSIDE_API_PREFIX', `the path ${state.path} is outside --api-prefix ${prefix}`));
      }
      if (strip) state.path = '/' + state.path.slice(prefix.length);
      return undefined;
    },
  };
}
