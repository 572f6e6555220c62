// Builds the bench's Go upstream (go-upstream/main.go, standard library only) with Debian's Go
// into the git-ignored .cache/bench/, rebuilding only when the source is newer than the binary.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectRoot } from '../../examples/demo-files.js';
import { BenchSetupError, ensureCommand } from './debian-tools.js';

const SOURCE = join(projectRoot(), 'test/bench/go-upstream/main.go');
const BINARY = join(projectRoot(), '.cache/bench/go-upstream');

/** Returns the path of an up-to-date go-upstream binary, installing golang-go when Go is missing. */
export function buildGoUpstream(): string {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return BINARY;
  ensureCommand('go', 'golang-go', 'the bench upstream is Go\'s net/http, as kube-apiserver\'s is');
  mkdirSync(dirname(BINARY), { recursive: true });
  console.error(`building ${BINARY} from ${SOURCE}`);
  const built = spawnSync('go', ['build', '-o', BINARY, SOURCE], { stdio: ['ignore', 2, 2], env: { ...process.env, CGO_ENABLED: '0' } });
  if (built.status !== 0) throw new BenchSetupError(`go build of ${SOURCE} failed (exit ${built.status}); its output is above`);
  return BINARY;
}
