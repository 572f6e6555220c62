// Merges decoded files in precedence order, as client-go's `ClientConfigLoadingRules.Load` does
// (tools/clientcmd/loader.go): the first file that names an entry supplies all of it.

import type { LoadedFile } from './load-files.js';
import type { Located, MergedConfig } from './raw-types.js';

/**
 * Merges files, first file first. Named clusters, users and contexts: the first definition wins
 * whole (no field-by-field merge). `current-context`: the first non-empty value wins.
 */
export function mergeKubeconfigs(files: readonly LoadedFile[]): MergedConfig {
  return {
    clusters: firstWins(files, (file) => file.config.clusters),
    users: firstWins(files, (file) => file.config.users),
    contexts: firstWins(files, (file) => file.config.contexts),
    currentContext: files.find((file) => file.config.currentContext !== undefined)?.config.currentContext,
  };
}

// loader.go merges maps forward with mergo, which never replaces a key that is already present;
// each entry remembers its file (`LocationOfOrigin`) for relative-path resolution.
function firstWins<T>(
  files: readonly LoadedFile[],
  entriesOf: (file: LoadedFile) => ReadonlyMap<string, T>,
): Map<string, Located<T>> {
  const merged = new Map<string, Located<T>>();
  for (const file of files) {
    for (const [name, entry] of entriesOf(file)) {
      if (!merged.has(name)) merged.set(name, { entry, file: file.path });
    }
  }
  return merged;
}
