// The Origin guard, on by default: a web page the user happens to visit must not be able to use
// the proxy, which acts with the user's credentials. Browsers send `Origin` on cross-origin
// fetches, form posts and every WebSocket (to which CORS does not apply), and `Sec-Fetch-Site`
// on everything else. A request from anywhere but the proxy's own origin or an allowed CORS
// origin is refused before it reaches the API server. curl, kubectl and client libraries send
// neither header and pass.

import { ProxyError } from '../errors.js';
import { errorAnswer } from './answers.js';
import { firstMatch, type RuleList } from './rules.js';
import type { RequestState, Stage } from './stage.js';

/** Sec-Fetch-Site values of requests that a page on another site made. */
const FOREIGN_FETCH_SITES = new Set(['cross-site', 'same-site']);

/** `http://` plus the Host header as received: a page served by the proxy itself (--www) has this origin. */
function ownOrigin(state: RequestState, scheme: string): string {
  return `${scheme}://${String(state.req.headers.host ?? '').toLowerCase()}`;
}

function refuse(what: string): ReturnType<Stage['run']> {
  return errorAnswer(
    new ProxyError(
      'KAP_ORIGIN_REJECTED',
      `forbidden by kube-auth-proxy: ${what}; a browser page may use the proxy only from its own origin or one that --cors-allowed-origins allows (--origin-guard=false turns this check off)`,
    ),
  );
}

export function createOriginGuard(allowed: RuleList, scheme: 'http' | 'https'): Stage {
  return {
    name: 'origin-guard',
    run(state) {
      const origin = state.req.headers.origin;
      if (origin === undefined) {
        const site = state.req.headers['sec-fetch-site'];
        if (typeof site === 'string' && FOREIGN_FETCH_SITES.has(site.toLowerCase())) return refuse(`a ${site} request from a web page (Sec-Fetch-Site)`);
        return undefined;
      }
      // `null` is an opaque origin (a sandboxed frame, a file: page, some redirects): never ours.
      if (origin !== 'null' && (origin.toLowerCase() === ownOrigin(state, scheme) || firstMatch(allowed, origin) !== undefined)) return undefined;
      return refuse(`Origin ${JSON.stringify(origin)} is not this proxy's origin`);
    },
  };
}
