// Real credential plugins for tests: a shell script per plugin that counts its runs, records the
// environment it saw, prints the answer the test prepared for that run (or the default one), and
// can be told to fail, write to stderr, or hang.

import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { plant, plantPrivateKey } from './planted-secrets.js';

export const EXEC_V1 = 'client.authentication.k8s.io/v1';

export interface TestPlugin {
  /** Absolute path of the script. */
  readonly command: string;
  /** How many times it has run. */
  runs(): number;
  /** The environment of run `n` (1-based). */
  env(n: number): Record<string, string>;
  /** What run `n` prints; `n` omitted: every run without an answer of its own. */
  answer(output: unknown, n?: number): void;
  /** Exit status of every run from now on, with a line on stderr. */
  fail(code: number, stderrLine: string): void;
  /** Every run from now on sleeps instead of answering. */
  hang(): void;
}

/** An ExecCredential as plugins print it. */
export function execCredential(status: Record<string, unknown> | undefined, apiVersion = EXEC_V1): Record<string, unknown> {
  if (typeof status?.token === 'string') plant(status.token);
  if (typeof status?.clientKeyData === 'string') plantPrivateKey(status.clientKeyData);
  return { apiVersion, kind: 'ExecCredential', ...(status === undefined ? {} : { status }) };
}

const SCRIPT = `#!/bin/sh
d="$(dirname "$0")/$(basename "$0").d"
n=$(( $(cat "$d/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$d/count"
env > "$d/env-$n"
if [ -f "$d/hang" ]; then exec sleep 120; fi
if [ -f "$d/stderr" ]; then cat "$d/stderr" >&2; fi
f="$d/out-$n"; [ -f "$f" ] || f="$d/out"
[ -f "$f" ] && cat "$f"
exit "$(cat "$d/exit" 2>/dev/null || echo 0)"
`;

export function writePlugin(dir: string, name = 'plugin'): TestPlugin {
  const command = join(dir, name);
  const state = `${command}.d`;
  mkdirSync(state, { recursive: true });
  writeFileSync(command, SCRIPT);
  chmodSync(command, 0o755);
  const text = (output: unknown) => (typeof output === 'string' ? output : JSON.stringify(output));
  return {
    command,
    runs: () => (existsSync(join(state, 'count')) ? Number(readFileSync(join(state, 'count'), 'utf8')) : 0),
    env: (n) =>
      Object.fromEntries(
        readFileSync(join(state, `env-${n}`), 'utf8')
          .split('\n')
          .filter((line) => line.includes('='))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      ),
    answer: (output, n) => writeFileSync(join(state, n === undefined ? 'out' : `out-${n}`), text(output)),
    fail: (code, stderrLine) => {
      writeFileSync(join(state, 'exit'), String(code));
      writeFileSync(join(state, 'stderr'), `${stderrLine}\n`);
    },
    hang: () => writeFileSync(join(state, 'hang'), ''),
  };
}

/**
 * Writes (or rewrites) an executable `/bin/sh` script with `body` at `path`, replacing the file in
 * one rename so a run that starts meanwhile sees the old script or the new, never half of one.
 */
export function writeScript(path: string, body: string): string {
  const next = `${path}.next`;
  writeFileSync(next, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  chmodSync(next, 0o755);
  renameSync(next, path);
  return path;
}
