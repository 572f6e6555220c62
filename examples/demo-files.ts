// Files the demo and the standalone API server keep on disk: the PKI in certs/ (made once and
// reused while valid) and a kubeconfig that points at the running example API server.
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { createPki, PKI_FILES, readPki, writePki, type Pki } from './pki.js';

/**
 * The directory holding package.json above this file: the same whether this runs compiled
 * (dist/examples/) or from source (examples/).
 */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/**
 * Reads the PKI in `dir`, or creates and writes a new one when files are missing or expire soon.
 * @returns the PKI and whether it was just created.
 */
export function ensurePki(dir: string, clientCommonName = 'demo-admin'): { pki: Pki; created: boolean } {
  const existing = readPki(dir);
  if (existing) return { pki: existing, created: false };
  const pki = createPki({ clientCommonName, validDays: 365 });
  writePki(dir, pki);
  return { pki, created: true };
}

/** Names inside the demo kubeconfig, shown in the demo's output. */
export const DEMO_KUBECONFIG = { cluster: 'demo', user: 'demo-admin', context: 'demo' } as const;

/**
 * Writes `dir/kubeconfig` for the example API server at `server`. Paths are relative to the
 * kubeconfig's own directory, which is how kubectl resolves them, so certs/ can move as a whole.
 * @returns the kubeconfig's absolute path.
 */
export function writeDemoKubeconfig(dir: string, server: string): string {
  const { cluster, user, context } = DEMO_KUBECONFIG;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server, 'certificate-authority': PKI_FILES.caCert } }],
    users: [{ name: user, user: { 'client-certificate': PKI_FILES.clientCert, 'client-key': PKI_FILES.clientKey } }],
    contexts: [{ name: context, context: { cluster, user } }],
    'current-context': context,
    preferences: {},
  };
  const path = resolve(dir, 'kubeconfig');
  writeFileSync(path, stringify(config));
  // It names key files only, but kubectl keeps kubeconfigs at 0600 and so do we.
  chmodSync(path, 0o600);
  return path;
}
