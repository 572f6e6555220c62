#!/usr/bin/env -S node --max-semi-space-size=4
// The command: parse flags, validate, complete, serve; print kubectl's start line; stop cleanly
// on SIGINT/SIGTERM. The only module that reads process.argv, installs signal handlers or exits.

import { hideBin } from 'yargs/helpers';
import { completeConfig } from '../config/complete.js';
import { messageOf } from '../errors.js';
import { createLogger } from '../observe/logger.js';
import { startProxy } from '../server/proxy-server.js';
import { parseCommandLine } from './parse.js';

/** One line on stderr, exit 1: no stack trace for bad input. */
function die(message: string): never {
  process.stderr.write(`error: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
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
  process.stdout.write(`Starting to serve on ${proxy.address}\n`);
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
