// The live view's routes on the metrics listener: /ui/ (the page, one request), /ui/events (its
// Server-Sent Events) and /ui/snapshot (the same data as JSON, for scripts). The listener shows
// who called what, so these pass the proxy's own guards first (server/stages.ts has them in the
// same order): the Host check (DNS rebinding), the caller token when one is set, and the Origin
// guard (no other site's page may read the traffic).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_ACCEPT_HOSTS } from '../config/defaults.js';
import type { ProxyConfig } from '../config/proxy-config.js';
import { readRequest, runStages } from '../server/request-handler.js';
import { createCallerAuth, LOGIN_PARAMETER } from '../stages/caller-auth.js';
import { createHostFilter } from '../stages/host-filter.js';
import { createOriginGuard } from '../stages/origin-guard.js';
import { compileRuleList } from '../stages/rules.js';
import type { Answer, Stage } from '../stages/stage.js';
import { LiveFeed } from './live-feed.js';
import { buildPage, type Page } from './page/page.js';
import type { TrafficRecorder } from './traffic-recorder.js';

export const UI_PREFIX = '/ui/';

export interface UiRoutes {
  /** Whether the listener should hand this request to the view. */
  handles(req: IncomingMessage): boolean;
  serve(req: IncomingMessage, res: ServerResponse): void;
  /** Ends the open pages' event streams. */
  close(): void;
}

/** The page is of this listener's origin only: --cors-allowed-origins is for the API, not for the view. */
const NO_OTHER_ORIGINS = compileRuleList('--cors-allowed-origins', '');

function guards(config: ProxyConfig): Stage[] {
  const acceptHosts = config.filter?.acceptHosts ?? compileRuleList('--accept-hosts', DEFAULT_ACCEPT_HOSTS);
  const stages: Stage[] = [createHostFilter(acceptHosts)];
  if (config.callers !== undefined) {
    // A login link printed for this listener (`/?kap-login=…`) lands on the view.
    stages.push(createCallerAuth({ secrets: config.callers.secrets, loginLanding: UI_PREFIX, corsAllowedOrigins: NO_OTHER_ORIGINS, https: false }));
  }
  stages.push(createOriginGuard(NO_OTHER_ORIGINS, 'http'));
  return stages;
}

function write(res: ServerResponse, answer: Answer): void {
  res.writeHead(answer.statusCode, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  res.end(res.req.method === 'HEAD' ? undefined : answer.body);
}

function plain(statusCode: number, body: string, headers: Record<string, string> = {}): Answer {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers }, body };
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '').split('?')[0] ?? '';
}

function serveGuarded(req: IncomingMessage, res: ServerResponse, page: Page, feed: LiveFeed): void {
  const path = pathOf(req);
  if (path === '/ui') return write(res, plain(301, '', { location: UI_PREFIX }));
  if (path === UI_PREFIX) return write(res, { statusCode: 200, headers: page.headers, body: page.html });
  if (path === `${UI_PREFIX}events` && req.method === 'GET') return feed.subscribe(res);
  if (path === `${UI_PREFIX}snapshot`) {
    return write(res, { statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }, body: JSON.stringify(feed.snapshot()) });
  }
  write(res, plain(404, `not found: the live view is at ${UI_PREFIX}\n`));
}

export function createUiRoutes(config: ProxyConfig, recorder: TrafficRecorder): UiRoutes {
  const stages = guards(config);
  const feed = new LiveFeed(recorder);
  const page = buildPage();
  return {
    handles: (req) => {
      const path = pathOf(req);
      return path === '/ui' || path.startsWith(UI_PREFIX) || (config.callers !== undefined && path === '/' && (req.url ?? '').includes(`${LOGIN_PARAMETER}=`));
    },
    serve(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return write(res, plain(405, 'method not allowed\n', { allow: 'GET, HEAD' }));
      const state = readRequest(req, false);
      if (!('req' in state)) return write(res, state);
      const refused = runStages(stages, state);
      // The guards answer or pass; none serves files.
      if (refused !== undefined) return write(res, 'serve' in refused ? plain(500, 'internal error\n') : refused);
      serveGuarded(req, res, page, feed);
    },
    close: () => feed.close(),
  };
}
