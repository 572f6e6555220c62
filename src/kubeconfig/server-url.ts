// Checks the cluster's `server` URL and normalises it as client-go's REST config does
// (tools/clientcmd/client_config.go `ClientConfig`).

/** Where the server URL came from, for messages. */
export type ServerSource = '--server' | '$KUBERNETES_MASTER' | { readonly file: string };

/** Hides `user:password@` in a URL before it goes into a message. */
export function redactUserInfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#@]*@/i, '$1***@');
}

function describeSource(source: ServerSource): string {
  return typeof source === 'string' ? source : `clusters[].cluster.server in ${source.file}`;
}

/**
 * A problem with the server URL, or `undefined` if it is usable. Stricter than client-go, which
 * guesses a scheme for `host:port`: here the scheme must be written, so a typo cannot silently
 * send credentials over plain HTTP.
 */
export function serverUrlProblem(server: string, clusterName: string, source: ServerSource): string | undefined {
  const prefix = `invalid server URL ${JSON.stringify(redactUserInfo(server))} for cluster ${JSON.stringify(clusterName)} (from ${describeSource(source)})`;
  if (!/^https?:\/\//i.test(server)) return `${prefix}: it must start with https:// or http://`;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return `${prefix}: not a valid URL`;
  }
  return url.hostname === '' ? `${prefix}: no host` : undefined;
}

/**
 * The URL requests go to: when the server has a path, its query and fragment are dropped
 * (client_config.go: `if len(u.Path) > 1 { u.RawQuery = ""; u.Fragment = "" }`).
 */
export function restHost(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return server;
  }
  return url.pathname.length > 1 ? (server.split(/[?#]/)[0] ?? server) : server;
}
