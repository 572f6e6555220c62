// --caller-token-file: the secret every caller of the proxy must present. A missing file is made
// here with 256 random bits, base64url (safe as it is in a header, a URL's userinfo and a
// kubeconfig), owner-only. A file that anyone else may read or write is refused: whoever can read
// it can use the cluster as you, and whoever can write it can choose the token.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';

const FLAG = '--caller-token-file';
/** Shorter than this is too easy to guess for a secret that guards cluster credentials. */
const MIN_TOKEN_LENGTH = 16;
/** Visible ASCII without spaces: what a header value, a URL's userinfo and YAML all carry unchanged. */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;

export interface CallerToken {
  readonly token: string;
  /** Absolute path of the file. */
  readonly path: string;
  /** True when this start made the file. */
  readonly created: boolean;
}

function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

/** A new random token in a new file (0600; its directory 0700 when made now). */
function createTokenFile(path: string): CallerToken | undefined {
  const token = randomBytes(32).toString('base64url');
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // `wx`: another process that made the file meanwhile wins, and its file is read instead.
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return undefined;
    throw new ConfigError(`${FLAG}: cannot create ${path}: ${errnoCode(err)}`, { cause: err });
  }
  return { token, path, created: true };
}

function readTokenFile(path: string): CallerToken {
  const stats = statSync(path);
  if (!stats.isFile()) throw new ConfigError(`${FLAG}: ${path} is not a file`);
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    throw new ConfigError(`${FLAG}: ${path} is open to other users (mode ${mode}); make it yours only: chmod 600 ${path}`);
  }
  const token = readFileSync(path, 'utf8').trim();
  if (token.length < MIN_TOKEN_LENGTH || !TOKEN_CHARACTERS.test(token)) {
    throw new ConfigError(`${FLAG}: ${path} must hold one token of at least ${MIN_TOKEN_LENGTH} visible ASCII characters without spaces (delete the file to have a random one made)`);
  }
  return { token, path, created: false };
}

/** Reads the caller token, making the file first when it is missing. Throws ConfigError naming the flag. */
export function loadCallerToken(path: string): CallerToken {
  try {
    return readTokenFile(path);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if (errnoCode(err) !== 'ENOENT') throw new ConfigError(`${FLAG}: cannot read ${path}: ${errnoCode(err)}`, { cause: err });
  }
  return createTokenFile(path) ?? readTokenFile(path);
}
