#!/usr/bin/env -S node --max-semi-space-size=4
// The command: parse flags, validate, complete, serve; print kubectl's start line; stop cleanly
// on SIGINT/SIGTERM. The only module that reads process.argv, installs signal handlers or exits.

import { hideBin } from 'yargs/helpers';
import { completeConfig } from '../config/complete.js';
import { messageOf } from '../errors.js';
import { createLogger } from '../observe/logger.js';
import type { ProxyConfig } from '../config/proxy-config.js';
import { trustCommands } from '../credentials/certificates/local-ca.js';
import { startProxy } from '../server/proxy-server.js';
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
  const proxy = await startProxy(config, logger);
  // kubectl's line first and unchanged: scripts wait for it.
  process.stdout.write(`Starting to serve on ${proxy.address}\n${httpsLines(config, proxy.address)}`);
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
