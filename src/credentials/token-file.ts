// `tokenFile` (client-go transport/token_source.go cachingTokenSource): the file is re-read so a
// rotated token is picked up, its value beats `token`, and a failed or empty read keeps the last
// good token and reports the failure. client-go re-reads about every 50 s; we re-read every second.
// client-go logs the failure at every request once its cache has run out; we log it once per run
// of failures (and again when the reason changes), so a deleted file is one line, not a line a second.

import { readFileSync } from 'node:fs';
import { ConfigError, messageOf } from '../errors.js';
import { describeFsError } from '../kubeconfig/fs-errors.js';
import type { AuthMaterial, Credentials } from './credentials.js';

/** How long a read `tokenFile` value is trusted before the file is read again. client-go: ~50 s. */
export const TOKEN_FILE_TTL_MS = 1_000;

/** The file's token, trimmed; errors in client-go's words, naming the path, never the contents. */
function readToken(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`failed to read token file "${path}": ${describeFsError('open', path, err)}`, { cause: err });
  }
  const token = text.trim();
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
  /** The failure last reported, while reads keep failing. */
  let failing: string | undefined;
  return {
    description: `token file ${path}`,
    current() {
      const now = Date.now();
      if (now - readAt < ttlMs) return material;
      readAt = now;
      try {
        const authorization = `Bearer ${readToken(path)}`;
        if (authorization !== material.authorization) material = { authorization };
        failing = undefined;
      } catch (err) {
        const problem = `Unable to rotate token: ${messageOf(err)}`;
        if (problem !== failing) onRotateError(problem);
        failing = problem;
      }
      return material;
    },
  };
}
