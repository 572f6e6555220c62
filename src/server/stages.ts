// The ordered stage list for a configuration. A disabled feature is simply not in the list.

import type { ProxyConfig } from '../config/proxy-config.js';
import { createApiPrefix } from '../stages/api-prefix.js';
import { createCors } from '../stages/cors.js';
import { createHostFilter } from '../stages/host-filter.js';
import { createOriginGuard } from '../stages/origin-guard.js';
import { createRequestFilter } from '../stages/request-filter.js';
import type { Stage } from '../stages/stage.js';
import { createStaticFiles } from '../stages/static-files.js';

export function buildStages(config: ProxyConfig): Stage[] {
  const { filter, staticFiles, apiPrefix, corsAllowedOrigins } = config;
  return [
    filter && createHostFilter(filter.acceptHosts),
    config.originGuard ? createOriginGuard(corsAllowedOrigins, config.tls === undefined ? 'http' : 'https') : undefined,
    corsAllowedOrigins.rules.length > 0 ? createCors(corsAllowedOrigins) : undefined,
    staticFiles && createStaticFiles({ ...staticFiles, apiPrefix }),
    createApiPrefix(apiPrefix),
    filter && createRequestFilter(filter),
  ].filter((stage): stage is Stage => stage !== undefined);
}
