// Runs the bench's HTTP/2-capable upstream in its own process, with the same command line and
// start lines as examples/api-server-main.ts: `--pki-dir DIR --port 0 --token TOKEN=USER`.
import { parseArgs } from 'node:util';
import { ensurePki, writeDemoKubeconfig } from '../../examples/demo-files.js';
import { startH2Upstream } from './upstream.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'pki-dir': { type: 'string' }, port: { type: 'string', default: '0' }, token: { type: 'string' } } });
  const pkiDir = values['pki-dir'];
  const token = values.token?.split('=')[0];
  if (pkiDir === undefined || token === undefined || values.port !== '0') throw new Error('usage: upstream-main --pki-dir DIR --port 0 --token TOKEN=USER');
  const upstream = await startH2Upstream(ensurePki(pkiDir).pki, token);
  console.log(`kubeconfig for it: ${writeDemoKubeconfig(pkiDir, upstream.url)}`);
  console.log(`listening on ${upstream.url}`);
  process.once('SIGTERM', () => process.exit(0));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
