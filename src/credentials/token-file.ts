// `tokenFile` (client-go transport/token_source.go cachingTokenSource): the file is re-read so a
// rotated token is picked up, its value beats `token`, and a failed or empty read keeps the last
// good token and reports the failure. client-go re-reads about every 50 s; we re-read every second.

import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { AuthMaterial, Credentials } from './credentials.js';

/** How long a read `tokenFile` value is trusted before the file is read again. client-go: ~50 s. */
export const TOKEN_FILE_TTL_MS = 1_000;

function readToken(path: string): string {
  const token = readFileSync(path, 'utf8').trim();
  if (token === '') throw new Error(`read empty token from file "${path}"`);
  return token;
}

/**
 * Reads the file now (a failure is a start-up error, as in client-go) and then again whenever the
 * value is older than `ttlMs`. Reads are synchronous and tiny; they happen at most once per `ttlMs`.
 */
export function tokenFile(path: string, ttlMs: number, onRotateError: (message: string) => void): Credentials {
  let material: AuthMaterial;
  try {
    material = { authorization: `Bearer ${readToken(path)}` };
  } catch (err) {
    throw new ConfigError(`tokenFile: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let readAt = Date.now();
  return {
    description: `token file ${path}`,
    current() {
      const now = Date.now();
      if (now - readAt < ttlMs) return material;
      readAt = now;
      try {
        const authorization = `Bearer ${readToken(path)}`;
        if (authorization !== material.authorization) material = { authorization };
      } catch (err) {
        onRotateError(`Unable to rotate token: ${err instanceof Error ? err.message : String(err)}`);
      }
      return material;
    },
  };
}
