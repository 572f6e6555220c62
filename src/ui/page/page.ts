// The live view's page: one HTML answer with its style and script inline (no second request, no
// CDN, nothing from the internet), and a Content-Security-Policy that allows exactly that style
// and that script (by hash) and connections to this origin only.
//
// The script is the browser code of page/client/, taken from the compiled functions' own source:
// it is type-checked and linted with the rest of src/, and needs no bundler and no file read at
// run time (the same text whether run from a checkout's dist/ or an installed package).

import { createHash } from 'node:crypto';
import * as charts from './client/charts.js';
import * as details from './client/details.js';
import * as dom from './client/dom.js';
import * as feed from './client/feed.js';
import * as filters from './client/filters.js';
import * as liveView from './client/live-view.js';
import * as requestsTable from './client/requests-table.js';
import * as streams from './client/streams.js';
import * as viewState from './client/view-state.js';
import * as waterfall from './client/waterfall.js';
import { PAGE_BODY } from './page-body.js';
import { PAGE_STYLE } from './page-style.js';

export interface Page {
  readonly html: string;
  readonly headers: Readonly<Record<string, string>>;
}

const CLIENT_MODULES: readonly Record<string, unknown>[] = [dom, viewState, filters, waterfall, requestsTable, streams, details, charts, feed, liveView];

/** Every exported function of the client modules, as source, then the call that starts the view. */
export function pageScript(): string {
  const functions = CLIENT_MODULES.flatMap((module) => Object.values(module)).filter((value): value is (...args: never[]) => unknown => typeof value === 'function');
  return `'use strict';\n${functions.map((fn) => fn.toString()).join('\n')}\nstartLiveView();\n`;
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export function buildPage(): Page {
  const script = pageScript();
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kube-auth-proxy · live traffic</title>
<link rel="icon" href="data:,">
<style>${PAGE_STYLE}</style>
</head>
${PAGE_BODY}
<script>${script}</script>
</html>
`;
  const csp = [`default-src 'none'`, `script-src ${sha256(script)}`, `style-src ${sha256(PAGE_STYLE)}`, `connect-src 'self'`, `img-src data:`, `base-uri 'none'`, `form-action 'none'`, `frame-ancestors 'none'`].join('; ');
  return {
    html,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    },
  };
}
