// Writes refreshed OIDC tokens into the kubeconfig file that defined the user entry, as client-go's
// persister does, but atomically (a temporary file in the same directory, then rename) so that a
// crash or a concurrent reader never sees half a file, and with the file's mode kept.

import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setAuthProviderValues } from '../../kubeconfig/edit.js';

/**
 * Sets `values` in the user's `auth-provider.config` of `file`, re-reading the file first so that
 * other changes made meanwhile are kept. A symlinked kubeconfig stays a symlink: its target is written.
 * @throws Error with a one-line reason naming the file, never a value.
 */
export async function writeBackTokens(file: string, userName: string, values: Readonly<Record<string, string>>): Promise<void> {
  const target = await realpath(file);
  const [text, { mode }] = await Promise.all([readFile(target, 'utf8'), stat(target)]);
  let edited: string;
  try {
    edited = setAuthProviderValues(text, userName, values);
  } catch (err) {
    throw new Error(`${target}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  await replaceFile(target, edited, mode & 0o7777);
}

async function replaceFile(target: string, text: string, mode: number): Promise<void> {
  const temporary = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temporary, mode); // the umask does not apply to chmod
    await rename(temporary, target);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}
