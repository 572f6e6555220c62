// --caller-token-file: who may use the proxy. Anyone who can reach 127.0.0.1:8001 (another user
// of the machine, a container on the host network, any local process) would otherwise act with
// the user's credentials. Every request and upgrade must prove the caller (caller-credentials.ts)
// or gets a 401 before anything reaches the API server. It runs right after the Host check and
// before the Origin guard: it decides who may use the proxy at all, so a stranger learns nothing
// of the filters, files or Origin rules behind it. Two requests pass without proof: CORS
// preflights from an allowed origin (browsers never send credentials on them; the CORS stage
// answers them, they are never forwarded) and the one-time login link, which is the proof.

import { ProxyError } from '../errors.js';
import { errorAnswer } from './answers.js';
import { consumeCallerCredentials, presentsSomething, proofOf } from './caller-credentials.js';
import type { CallerSecrets } from './caller-secrets.js';
import { firstMatch, type RuleList } from './rules.js';
import type { Answer, RequestState, Stage } from './stage.js';

/** The query parameter of a login link: `GET /?kap-login=<one-time code>`. */
export const LOGIN_PARAMETER = 'kap-login';

export interface CallerAuthOptions {
  readonly secrets: CallerSecrets;
  /** The --www prefix, where a used login link lands; absent without --www, and then there are no login links. */
  readonly loginLanding?: string;
  /** --cors-allowed-origins: preflights from these pass. */
  readonly corsAllowedOrigins: RuleList;
  /** HTTPS listener: the cookie is `Secure` and `__Host-`, so no plain-HTTP page can set or read it. */
  readonly https: boolean;
}

/**
 * One cookie per listener port: cookies are shared by every port of a host, and two proxies on
 * one machine must not log each other out.
 */
function cookieName(state: RequestState, https: boolean): string {
  const port = state.req.socket.localPort;
  return `${https ? '__Host-' : ''}kube-auth-proxy${port === undefined ? '' : `-${port}`}`;
}

function unauthorized(message: string): Answer {
  const answer = errorAnswer(new ProxyError('KAP_CALLER_UNAUTHORIZED', message));
  return { ...answer, headers: { ...answer.headers, 'www-authenticate': 'Bearer realm="kube-auth-proxy"' } };
}

function isAllowedPreflight(state: RequestState, allowed: RuleList): boolean {
  const { origin } = state.req.headers;
  return (
    state.method === 'OPTIONS' &&
    state.req.headers['access-control-request-method'] !== undefined &&
    origin !== undefined &&
    origin !== 'null' &&
    firstMatch(allowed, origin) !== undefined
  );
}

/** The code of `GET /?kap-login=<code>`, when the request is a login link's visit. */
function loginCode(state: RequestState, options: CallerAuthOptions): string | undefined {
  if (options.loginLanding === undefined || state.method !== 'GET' || state.path !== '/' || state.isUpgrade) return undefined;
  return new URLSearchParams(state.query.slice(1)).get(LOGIN_PARAMETER) ?? undefined;
}

/** A login link's visit: the session cookie and a redirect to the pages, or a 401 and a new link where the proxy runs. */
function redeem(state: RequestState, code: string, options: CallerAuthOptions): Answer {
  const { secrets, https, loginLanding = '/' } = options;
  const result = secrets.loginLinks.redeem(code);
  if (result !== 'accepted') {
    const renewed = secrets.loginLinks.renew();
    const why = result === 'expired' ? 'this login link has expired' : 'this login link is unknown or was already used';
    const next = renewed ? 'a new one has just been printed where kube-auth-proxy runs' : 'a new one is printed where kube-auth-proxy runs at most every 10 s';
    return unauthorized(`${why} (a link works once, within ${Math.round(secrets.loginLinks.ttlMs / 1000)} s); ${next}`);
  }
  const attributes = ['Path=/', 'HttpOnly', 'SameSite=Strict', ...(https ? ['Secure'] : [])];
  return {
    statusCode: 303,
    headers: {
      location: loginLanding,
      'set-cookie': `${cookieName(state, https)}=${secrets.sessionValue}; ${attributes.join('; ')}`,
      'cache-control': 'no-store',
      // The code is spent, but the page it leads to need not learn it.
      'referrer-policy': 'no-referrer',
    },
    body: '',
  };
}

export function createCallerAuth(options: CallerAuthOptions): Stage {
  const { secrets, corsAllowedOrigins, https } = options;
  return {
    name: 'caller-auth',
    run(state) {
      if (isAllowedPreflight(state, corsAllowedOrigins)) return undefined;
      const code = loginCode(state, options);
      if (code !== undefined) return redeem(state, code, options);
      const cookie = cookieName(state, https);
      if (proofOf(state.req, secrets, cookie) === undefined) {
        return unauthorized(
          presentsSomething(state.req, cookie)
            ? 'kube-auth-proxy: the caller credentials sent do not match the token of --caller-token-file'
            : 'kube-auth-proxy needs the caller token of --caller-token-file: send it as "Authorization: Bearer <token>" or in Proxy-Authorization, or open the login link printed at start',
        );
      }
      consumeCallerCredentials(state.req, secrets, cookie);
      return undefined;
    },
  };
}
