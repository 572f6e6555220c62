#!/usr/bin/env -S node --max-semi-space-size=4
// The command: parse flags, validate, complete, serve; print kubectl's start line; stop cleanly
// on SIGINT/SIGTERM. The only module that reads process.argv, installs signal handlers or exits.

import { hideBin } from 'yargs/helpers';
import { completeConfig } from '../config/complete.js';
import { messageOf } from '../errors.js';
import { createLogger, type Logger } from '../observe/logger.js';
import type { ProxyConfig } from '../config/proxy-config.js';
import { trustCommands } from '../credentials/certificates/local-ca.js';
import { startProxy, type RunningProxy } from '../server/proxy-server.js';
import { writeProxyKubeconfig } from '../kubeconfig/proxy-kubeconfig.js';
import { LOGIN_PARAMETER } from '../stages/caller-auth.js';
import { ownOrigin, ownServer } from './own-url.js';
import { parseCommandLine } from './parse.js';

/** One line on stderr, exit 1: no stack trace for bad input. */
function die(message: string): never {
  process.stderr.write(`error: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
}

/** With HTTPS: the URL to open, and for --local-tls where the CA is and how to trust it. */
function httpsLines(config: ProxyConfig, address: string): string {
  if (config.tls === undefined) return '';
  const port = /:(\d+)$/.exec(address)?.[1];
  const lines = [`Serving HTTPS with HTTP/2${port === undefined ? '' : ` at https://localhost:${port}/`}`];
  const local = config.tls.local;
  if (local !== undefined) {
    const trust = trustCommands(local.caPath);
    lines.push(
      `Local CA${local.createdCa ? ' (created now)' : ''}: ${local.caPath}`,
      `  trust it system-wide: ${trust.system}`,
      `  trust it in a Chrome, Chromium or Firefox profile: ${trust.browser}`,
    );
  }
  return lines.map((line) => `${line}\n`).join('');
}

/** --write-kubeconfig, before the start line: a script that waits for that line can use the file at once. */
function writeKubeconfig(config: ProxyConfig, proxy: RunningProxy, logger: Logger): void {
  if (config.writeKubeconfig === undefined || config.callers === undefined) return;
  const origin = ownOrigin(proxy.scheme, proxy.address);
  const ca = config.tls?.local?.caPath;
  writeProxyKubeconfig(config.writeKubeconfig, { server: ownServer(origin, config.apiPrefix), token: config.callers.token.token, ...(ca === undefined ? {} : { certificateAuthority: ca }) });
  logger.info({ path: config.writeKubeconfig }, 'wrote a kubeconfig for this proxy (kubectl --kubeconfig PATH …)');
}

/**
 * With --ui: where the live view is. With --caller-token-file, the one-time login link for the
 * --www pages and the live view, on stdout (where the user who started the proxy reads it; logs
 * may go further), now and whenever a visit asks for a new one. A code works once, on either
 * listener: both redeem the same links.
 */
function browserLines(config: ProxyConfig, proxy: RunningProxy): string {
  const uiOrigin = config.ui === undefined || proxy.metricsAddress === undefined ? undefined : `http://${proxy.metricsAddress}`;
  const where = uiOrigin === undefined ? '' : `Live view of the traffic: ${uiOrigin}/ui/\n`;
  const links = config.callers?.secrets.loginLinks;
  if (links === undefined) return where;
  const targets: [string, string][] = [];
  if (config.staticFiles !== undefined && !proxy.address.startsWith('/')) targets.push(['the --www pages', ownOrigin(proxy.scheme, proxy.address)]);
  if (uiOrigin !== undefined) targets.push(['the live view', uiOrigin]);
  if (targets.length === 0) return where;
  const ttlS = Math.round(links.ttlMs / 1000);
  const lines = (code: string) => targets.map(([what, origin]) => `Log in to ${what} from a browser (this link works once, within ${ttlS} s): ${origin}/?${LOGIN_PARAMETER}=${code}\n`).join('');
  links.onRenewal((code) => process.stdout.write(lines(code)));
  return where + lines(links.issue());
}

async function main(): Promise<void> {
  const options = await parseCommandLine(hideBin(process.argv));

  const logger = createLogger({ verbosity: options.verbosity, format: options.logFormat, file: options.logFile });
  const config = await completeConfig(options, process.env, {
    onWarning: (message) => logger.error(message),
    stdinIsTerminal: process.stdin.isTTY === true,
    stderr: process.stderr,
  });
  for (const warning of config.warnings) logger.warn(warning);
  // Plugins and OIDC are otherwise asked on the first request, as kubectl does.
  if (options.verifyCredentials) await config.upstream.credentials.current();
  if (config.callers?.token.created === true) logger.info({ path: config.callers.token.path }, 'made --caller-token-file with a new random token');
  const proxy = await startProxy(config, logger);
  writeKubeconfig(config, proxy, logger);
  // kubectl's line first and unchanged: scripts wait for it.
  process.stdout.write(`Starting to serve on ${proxy.address}\n${httpsLines(config, proxy.address)}${browserLines(config, proxy)}`);
  logger.info({ identity: config.identity }, 'acting as');
  if (proxy.metricsAddress !== undefined) logger.info({ address: proxy.metricsAddress }, 'serving /metrics, /healthz and /readyz');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1); // a second Ctrl-C: stop now
    stopping = true;
    logger.info({ signal }, 'shutting down');
    proxy.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => die(messageOf(err)));
