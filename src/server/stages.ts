// The ordered stage list for a configuration. A disabled feature is simply not in the list.
//
// Order: request target (request-handler.ts) → own authority → host filter → caller auth → Origin
// guard → CORS → static files → API prefix → request filter → read-only.
// - Own authority and the Host check come first: an absolute-form target must name this listener's
//   port, and the Host its name (the DNS-rebinding guard); neither needs credentials to judge.
// - Caller auth (--caller-token-file) comes next, before the Origin guard: it decides who may use
//   the proxy at all, so a caller without the token learns nothing of what lies behind it (Origin
//   rules, static files, filter rules) and gets one answer, a 401. A page of a foreign origin has
//   no token either (its cookie is SameSite=Strict), so it is refused there; one from an allowed
//   origin that sends the token still meets the Origin guard and CORS after. Preflights of allowed
//   origins pass it (browsers send no credentials on them) and are answered by CORS.
// - Read-only comes last: it judges the path that goes upstream (after the API prefix), and the
//   filters' own refusals name their rule first.

import type { ProxyConfig } from '../config/proxy-config.js';
import { createApiPrefix } from '../stages/api-prefix.js';
import { createCallerAuth } from '../stages/caller-auth.js';
import { createCors } from '../stages/cors.js';
import { createHostFilter } from '../stages/host-filter.js';
import { createOriginGuard } from '../stages/origin-guard.js';
import { createOwnAuthority } from '../stages/own-authority.js';
import { createReadOnly } from '../stages/read-only.js';
import { createRequestFilter } from '../stages/request-filter.js';
import type { Stage } from '../stages/stage.js';
import { createStaticFiles } from '../stages/static-files.js';

function callerAuth(config: ProxyConfig): Stage | undefined {
  if (config.callers === undefined) return undefined;
  return createCallerAuth({
    secrets: config.callers.secrets,
    ...(config.staticFiles === undefined ? {} : { loginLanding: config.staticFiles.prefix }),
    corsAllowedOrigins: config.corsAllowedOrigins,
    https: config.tls !== undefined,
  });
}

export function buildStages(config: ProxyConfig): Stage[] {
  const { filter, staticFiles, apiPrefix, corsAllowedOrigins } = config;
  return [
    createOwnAuthority(),
    filter && createHostFilter(filter.acceptHosts),
    callerAuth(config),
    config.originGuard ? createOriginGuard(corsAllowedOrigins, config.tls === undefined ? 'http' : 'https') : undefined,
    corsAllowedOrigins.rules.length > 0 ? createCors(corsAllowedOrigins) : undefined,
    staticFiles && createStaticFiles({ ...staticFiles, apiPrefix }),
    createApiPrefix(apiPrefix),
    filter && createRequestFilter(filter),
    config.readOnly ? createReadOnly() : undefined,
  ].filter((stage): stage is Stage => stage !== undefined);
}
