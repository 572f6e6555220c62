// Decides which kubeconfig files to read and reads them, like client-go's
// `ClientConfigLoadingRules` (tools/clientcmd/loader.go `NewDefaultClientConfigLoadingRules`, `Load`).

import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ConfigError } from '../errors.js';
import { decodeKubeconfig } from './decode.js';
import { DecodeProblem } from './fields.js';
import { describeFsError, errnoCode } from './fs-errors.js';
import type { DecodedConfig } from './raw-types.js';
import type { LoadingRules } from './types.js';

/** One file that was read and decoded. */
export interface LoadedFile {
  readonly path: string;
  readonly config: DecodedConfig;
}

/** The files read, in precedence order, and non-fatal messages. */
export interface LoadedFiles {
  readonly files: readonly LoadedFile[];
  readonly warnings: readonly string[];
}

/**
 * Reads the kubeconfig files the loading rules select: `--kubeconfig` alone (must exist), else every
 * `$KUBECONFIG` entry that exists, else `~/.kube/config` if it exists.
 * @throws ConfigError naming the file for a missing `--kubeconfig` or any unreadable/undecodable file.
 */
export async function loadKubeconfigFiles(rules: LoadingRules): Promise<LoadedFiles> {
  if (rules.explicitPath) return { files: [await readExplicit(rules.explicitPath)], warnings: [] };
  const fromEnv = rules.kubeconfigEnv ? dedupe(rules.kubeconfigEnv.split(path.delimiter)) : undefined;
  const candidates = fromEnv ?? [path.join(rules.homeDir, '.kube', 'config')];
  const { files, missing } = await readExisting(candidates);
  // loader.go warns only for the $KUBECONFIG list (WarnIfAllMissing), and only if nothing was read.
  const allMissing = fromEnv !== undefined && files.length === 0 && missing.length > 0;
  return { files, warnings: allMissing ? [`Config not found: ${missing.join(', ')}`] : [] };
}

// loader.go stats an explicit file first and fails only if it does not exist; any other problem
// surfaces when it is read. Go's message is `stat PATH: no such file or directory`.
async function readExplicit(file: string): Promise<LoadedFile> {
  const loaded = await readKubeconfig(file);
  if (loaded === undefined) throw new ConfigError(`--kubeconfig: stat ${file}: no such file or directory`);
  return loaded;
}

/** Keeps the first occurrence of each entry (loader.go `deduplicate`). */
function dedupe(entries: readonly string[]): string[] {
  return [...new Set(entries)];
}

// Missing files are skipped; every other failure is collected so that one message names them all
// (loader.go aggregates errors from all files before giving up).
async function readExisting(candidates: readonly string[]): Promise<{ files: LoadedFile[]; missing: string[] }> {
  const files: LoadedFile[] = [];
  const missing: string[] = [];
  const problems: string[] = [];
  for (const file of candidates) {
    if (file === '') continue;
    try {
      const loaded = await readKubeconfig(file);
      if (loaded === undefined) missing.push(file);
      else files.push(loaded);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return { files, missing };
}

/** Reads and decodes one file; `undefined` when it does not exist. */
async function readKubeconfig(file: string): Promise<LoadedFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw loadError(file, describeFsError('open', file, err), err);
  }
  try {
    return { path: file, config: decodeKubeconfig(text) };
  } catch (err) {
    if (err instanceof DecodeProblem) throw loadError(file, err.message, err);
    throw err;
  }
}

function loadError(file: string, reason: string, cause: unknown): ConfigError {
  // Go formats this with "\"%s\"", so the path is quoted but not escaped.
  return new ConfigError(`error loading config file "${file}": ${reason}`, { cause });
}
