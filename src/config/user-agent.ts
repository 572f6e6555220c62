// Our User-Agent, sent when the client sent none, in client-go's shape
// (`<program>/<version> (<os>/<arch>) <build>`).

import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * The package version, from the nearest package.json above this module: two folders up from
 * src/config/, three from the build in dist/src/config/.
 */
export function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'kube-auth-proxy') return pkg.version;
    } catch {
      // not at this level
    }
  }
  return '0.0.0';
}

export function userAgent(): string {
  cached ??= `kube-auth-proxy/v${packageVersion()} (${process.platform}/${process.arch}) node/${process.version}`;
  return cached;
}
