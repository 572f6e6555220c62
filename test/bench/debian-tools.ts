// The bench's outside tools (wrk, Go) come from Debian: found on PATH, or installed with apt-get
// once, with its output on stderr so that stdout keeps only the markdown table.
import { spawnSync } from 'node:child_process';

/** Thrown when the bench cannot run at all; the entry point prints its message as one line. */
export class BenchSetupError extends Error {}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function aptGet(args: string[]): boolean {
  console.error(`$ apt-get ${args.join(' ')}`);
  return spawnSync('apt-get', args, { stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
}

/** Makes sure `command` is on PATH, installing Debian's `pkg` when it is not; `why` goes in the messages. */
export function ensureCommand(command: string, pkg: string, why: string): void {
  if (onPath(command)) return;
  console.error(`${command} is not on PATH: installing ${pkg} with apt-get (${why})`);
  // A container image often ships without package lists: update once and retry.
  const installed = aptGet(['install', '-y', '--no-install-recommends', pkg]) || (aptGet(['update']) && aptGet(['install', '-y', '--no-install-recommends', pkg]));
  if (!installed || !onPath(command)) throw new BenchSetupError(`${command} is not installed and \`apt-get install -y ${pkg}\` failed: install ${pkg} and run again (${why})`);
}
