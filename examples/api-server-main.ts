// Runs the example API server on its own, for trying the proxy (or kubectl) by hand:
// `node dist/examples/api-server-main.js [--pki-dir certs] [--port 0] [--token TOKEN=USER]…`.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startApiServer } from './api-server.js';
import { ensurePki, projectRoot, writeDemoKubeconfig } from './demo-files.js';

const USAGE = `usage: api-server-main [--pki-dir DIR] [--host HOST] [--port PORT] [--token TOKEN=USER]… [--allow-anonymous]`;

function parse(): { pkiDir: string; host: string; port: number; tokens: Record<string, string>; allowAnonymous: boolean } {
  const { values } = parseArgs({
    options: {
      'pki-dir': { type: 'string', default: resolve(projectRoot(), 'certs') },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      token: { type: 'string', multiple: true, default: [] },
      'allow-anonymous': { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535\n${USAGE}`);
  const tokens: Record<string, string> = {};
  for (const pair of values.token) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--token must be TOKEN=USER\n${USAGE}`);
    tokens[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { pkiDir: values['pki-dir'], host: values.host, port, tokens, allowAnonymous: values['allow-anonymous'] };
}

async function main(): Promise<void> {
  const options = parse();
  const { pki, created } = ensurePki(options.pkiDir);
  if (created) console.log(`created a PKI in ${options.pkiDir}`);
  const api = await startApiServer({ pki, host: options.host, port: options.port, tokens: options.tokens, allowAnonymous: options.allowAnonymous, record: false });
  const kubeconfig = writeDemoKubeconfig(options.pkiDir, api.url);
  console.log(`kubeconfig for it: ${kubeconfig}`);
  console.log(`listening on ${api.url}`);
  const stop = () => void api.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
