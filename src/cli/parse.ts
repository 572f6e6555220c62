// The command line, from argv to validated options: yargs with kubectl's flag rules, then every
// problem at once in flag language. No I/O and no exit here (main.ts prints and exits).

import yargs from 'yargs';
import { packageVersion } from '../config/user-agent.js';
import type { ProxyOptions } from '../config/options.js';
import { validateOptions } from '../config/validate.js';
import { ConfigError } from '../errors.js';
import { defineFlags } from './flags.js';
import { optionsFromFlags } from './options-from-flags.js';

/**
 * Parses `args` (argv without node and the script). Resolves with the options, or rejects with a
 * ConfigError naming every problem. --help and --version print and exit, as yargs does.
 */
export async function parseCommandLine(args: readonly string[]): Promise<ProxyOptions> {
  const cli = defineFlags(
    yargs([...args])
      .scriptName('kube-auth-proxy')
      .usage('$0 [flags]\n\nRun a proxy to the Kubernetes API server, with the credentials of your kubeconfig.')
      .version(packageVersion())
      .strict()
      .parserConfiguration({ 'boolean-negation': false, 'camel-case-expansion': false })
      .fail((message, err) => {
        throw new ConfigError(message ?? err?.message ?? 'invalid arguments');
      }),
  );
  const flags = await cli.parseAsync();
  const problems: string[] = [];
  const options = optionsFromFlags(flags, problems);
  problems.push(...validateOptions(options));
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return options;
}
