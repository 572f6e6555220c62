// Facts about the machine and tools for the report header: a number from a noisy 2-core box
// means little without the load, the CPU and the versions it was taken with.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';

export function kubectlVersion(): string {
  const result = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  try {
    return (JSON.parse(result.stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion;
  } catch {
    return 'unknown';
  }
}

export function machine(): string {
  const list = cpus();
  const model = list[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  return `${list.length} CPUs (${model}), load average at start ${loadavg().map((load) => load.toFixed(2)).join(' ')}`;
}
