// A test cluster: a fresh PKI, the example HTTPS API server demanding a client certificate or a
// token, and kubeconfig files that point at it. Everything on loopback, port 0, per test file.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { stringify } from 'yaml';
import { startApiServer, type ApiServer } from '../../examples/api-server/index.js';
import { createPki, writePki, type Pki } from '../../examples/pki.js';
import { plant, plantPrivateKey } from './planted-secrets.js';

export const ADMIN_TOKEN = 'admin-token-d3adb33f';

export interface TestCluster {
  readonly api: ApiServer;
  readonly pki: Pki;
  readonly dir: string;
  readonly files: ReturnType<typeof writePki>;
  /** Writes a kubeconfig with one cluster/context and the given user fields; returns its path. */
  kubeconfig(user: Record<string, unknown>, cluster?: Record<string, unknown>, name?: string): string;
  /** A kubeconfig whose user has the client certificate and key. */
  certKubeconfig(): string;
  /** Stops the API server as a crash would: its listener and every connection gone at once. */
  stopApiServer(): Promise<void>;
  /** Starts a new API server on the stopped one's port with the same PKI and credentials; `api` is then the new one. */
  restartApiServer(): Promise<void>;
}

export interface TestClusterOptions {
  readonly tokens?: Record<string, string>;
  readonly basicAuth?: Record<string, string>;
  /** Asked for bearer tokens not in `tokens` (OIDC ID tokens): the user name, or undefined. */
  readonly authenticateToken?: (token: string) => string | undefined;
}

export async function startTestCluster(t: Test, options: TestClusterOptions = {}): Promise<TestCluster> {
  const dir = t.testdir({});
  const pki = createPki();
  plant(ADMIN_TOKEN, ...Object.keys(options.tokens ?? {}), ...Object.values(options.basicAuth ?? {}));
  plantPrivateKey(pki.clientKey);
  plantPrivateKey(pki.serverKey);
  const files = writePki(join(dir, 'pki'), pki);
  const apiOptions = {
    pki,
    tokens: { [ADMIN_TOKEN]: 'token-admin', ...options.tokens },
    ...(options.basicAuth ? { basicAuth: options.basicAuth } : {}),
    ...(options.authenticateToken ? { authenticateToken: options.authenticateToken } : {}),
  };
  let api = await startApiServer(apiOptions);
  t.teardown(() => api.close());
  const kubeconfig = (user: Record<string, unknown>, cluster: Record<string, unknown> = {}, name = 'kubeconfig') => {
    const path = join(dir, name);
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: api.url, 'certificate-authority': files.caCert, ...cluster } }],
      users: [{ name: 'tester', user }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'tester' } }],
      'current-context': 'test',
    };
    writeFileSync(path, stringify(config));
    return path;
  };
  return {
    get api() {
      return api;
    },
    pki,
    dir,
    files,
    kubeconfig,
    certKubeconfig: () => kubeconfig({ 'client-certificate': files.clientCert, 'client-key': files.clientKey }, {}, 'cert-kubeconfig'),
    stopApiServer: () => api.close(),
    restartApiServer: async () => {
      await api.close();
      // Same port, so kubeconfigs already written still point at it.
      api = await startApiServer({ ...apiOptions, host: api.host, port: api.port });
    },
  };
}
