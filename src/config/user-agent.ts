// Our User-Agent, sent when the client sent none, in client-go's shape
// (`<program>/<version> (<os>/<arch>) <build>`).

import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The package version, read once from package.json next to the build. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function userAgent(): string {
  cached ??= `kube-auth-proxy/v${packageVersion()} (${process.platform}/${process.arch}) node/${process.version}`;
  return cached;
}
