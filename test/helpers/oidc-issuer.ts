// A real OpenID Connect issuer (oidc-provider) over HTTPS on loopback, port 0, for the OIDC
// auth-provider tests: one confidential client, refresh tokens that rotate on use, ID tokens
// signed with a key made per run, and a count of what reached the token endpoint.

import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import type { Test } from 'tap';
import { Agent, request } from 'undici';
import type { Pki } from '../../examples/pki.js';

export const CLIENT_ID = 'kube-auth-proxy';
export const CLIENT_SECRET = 'client-secret-5ecr3t';
/** Sent by {@link TestIssuer.login} so that the set-up is not counted as a refresh. */
const SETUP_HEADER = 'x-test-setup';

export interface TestIssuer {
  /** `https://127.0.0.1:PORT`, the `idp-issuer-url`. */
  readonly url: string;
  /** The CA that signed the issuer's certificate: a file and its base64 (`-data`). */
  readonly caFile: string;
  readonly caData: string;
  /** Lifetime of ID tokens issued from now on; under 10 s means "already expiring" to client-go. */
  idTokenTtlSeconds: number;
  /** Token-endpoint requests so far, the set-up logins not counted. */
  tokenRequests(): number;
  /** A refresh token for `user` as a login would leave (scope `openid offline_access` by default). */
  refreshTokenFor(user: string, scope?: string): Promise<string>;
  /** An ID token and a refresh token for `user`, fetched from the token endpoint. */
  login(user: string): Promise<{ idToken: string; refreshToken: string }>;
  /** The subject of an unexpired ID token that this issuer signed for our client, else undefined. */
  verify(idToken: string): string | undefined;
  /** Stops answering: the port then refuses connections. */
  close(): Promise<void>;
}

export async function startTestIssuer(t: Test, pki: Pki, dir: string): Promise<TestIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  let counted = 0;
  const server = createServer({ key: pki.serverKey, cert: pki.serverCert }, (req, res) => {
    if (req.method === 'POST' && req.url === '/token' && req.headers[SETUP_HEADER] === undefined) counted++;
    handle(req, res);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer: TestIssuer = {
    url,
    caFile: join(dir, 'issuer-ca.crt'),
    caData: Buffer.from(pki.caCert).toString('base64'),
    idTokenTtlSeconds: 3600,
    tokenRequests: () => counted,
    refreshTokenFor: (user, scope) => refreshTokenFor(provider, user, scope),
    login: (user) => login(issuer, provider, user, pki.caCert),
    verify: (idToken) => verifyIdToken(idToken, publicKey, url),
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      return closed;
    },
  };
  writeFileSync(issuer.caFile, pki.caCert);
  const provider = createProvider(url, privateKey, () => issuer.idTokenTtlSeconds);
  handle = provider.callback();
  t.teardown(() => issuer.close());
  return issuer;
}

function createProvider(url: string, privateKey: KeyObject, idTokenTtl: () => number): Provider {
  return new Provider(url, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
      },
    ],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test', alg: 'RS256', use: 'sig' }] },
    scopes: ['openid', 'offline_access'],
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    issueRefreshToken: () => true,
    rotateRefreshToken: true,
    features: { devInteractions: { enabled: false } },
    ttl: { IdToken: () => idTokenTtl(), AccessToken: 600, RefreshToken: 3600, Grant: 3600 },
  });
}

/** What an authorization-code login stores: a grant and a refresh token bound to it. */
async function refreshTokenFor(provider: Provider, user: string, scope = 'openid offline_access'): Promise<string> {
  const client = await provider.Client.find(CLIENT_ID);
  if (client === undefined) throw new Error('test client missing');
  const grant = new provider.Grant({ accountId: user, clientId: CLIENT_ID });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  return new provider.RefreshToken({ accountId: user, grantId, client, scope, gty: 'authorization_code' }).save();
}

async function login(issuer: TestIssuer, provider: Provider, user: string, ca: string): Promise<{ idToken: string; refreshToken: string }> {
  const dispatcher = new Agent({ connect: { ca } });
  try {
    const response = await request(`${issuer.url}/token`, {
      method: 'POST',
      dispatcher,
      signal: AbortSignal.timeout(10_000),
      headers: {
        [SETUP_HEADER]: '1',
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: await refreshTokenFor(provider, user) }).toString(),
    });
    const body = (await response.body.json()) as { id_token?: string; refresh_token?: string };
    if (body.id_token === undefined || body.refresh_token === undefined) throw new Error(`login failed: ${response.statusCode}`);
    return { idToken: body.id_token, refreshToken: body.refresh_token };
  } finally {
    await dispatcher.close();
  }
}

/** What kube-apiserver's OIDC authenticator checks: RS256 signature, issuer, audience, expiry. */
function verifyIdToken(idToken: string, publicKey: KeyObject, issuerUrl: string): string | undefined {
  const [header, payload, signature] = idToken.split('.');
  if (header === undefined || payload === undefined || signature === undefined) return undefined;
  if (!verify('sha256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'))) return undefined;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: string; aud?: string | string[]; exp?: number; sub?: string };
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== issuerUrl || !audiences.includes(CLIENT_ID) || (claims.exp ?? 0) * 1000 <= Date.now()) return undefined;
  return claims.sub;
}
