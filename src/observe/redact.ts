// What may appear in a log line of a request: header values and query strings with every
// credential masked. Stricter than client-go, which masks only Authorization.

const MASK = '<masked>';
/** Schemes shown before the mask, as client-go's `maskValue` does. */
const KNOWN_SCHEMES = /^(bearer|basic|negotiate)(\s+|$)/i;
/** kubectl's WebSocket clients carry their token in a subprotocol (no headers in browsers). */
const WEBSOCKET_BEARER = /(base64url\.bearer\.authorization\.k8s\.io\.)[^,\s]*/gi;
/** Query parameters that carry secrets in the wild (OAuth, some dashboards' WebSocket auth), and our login links' `kap-login`. */
const SECRET_PARAMETER = /token|password|passwd|secret|credential|signature|login|^auth|^key$|^code$/i;

function maskCredential(value: string): string {
  const scheme = KNOWN_SCHEMES.exec(value);
  if (scheme === null) return value === '' ? '' : MASK;
  return scheme[2] === '' ? scheme[1]! : `${scheme[1]} ${MASK}`;
}

export function redactHeader(lowerName: string, value: string): string {
  switch (lowerName) {
    case 'authorization':
    case 'proxy-authorization':
      return maskCredential(value);
    case 'cookie':
    case 'set-cookie':
      return MASK;
    case 'sec-websocket-protocol':
      return value.replace(WEBSOCKET_BEARER, `$1${MASK}`);
    default:
      return value;
  }
}

/** `[name, value, …]` (or a Node headers object) as a name-sorted object, values redacted. */
export function redactedHeaders(headers: readonly string[] | Readonly<Record<string, string | string[] | undefined>>): Record<string, string | string[]> {
  const pairs: [string, string][] = [];
  if (Array.isArray(headers)) {
    const flat = headers as readonly string[];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!.toLowerCase(), flat[i + 1]!]);
  } else {
    for (const [name, value] of Object.entries(headers)) {
      for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) pairs.push([name.toLowerCase(), one]);
    }
  }
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const masked = redactHeader(name, value);
    const seen = out[name];
    out[name] = seen === undefined ? masked : Array.isArray(seen) ? [...seen, masked] : [seen, masked];
  }
  return out;
}

/** A request target (`/path?query`) with the values of secret-looking query parameters masked. */
export function redactTarget(target: string): string {
  const question = target.indexOf('?');
  if (question === -1) return target;
  const query = target
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals === -1) return pair;
      let name = pair.slice(0, equals);
      try {
        name = decodeURIComponent(name.replaceAll('+', ' '));
      } catch {
        // an undecodable name is judged as written
      }
      return SECRET_PARAMETER.test(name) ? `${pair.slice(0, equals)}=${MASK}` : pair;
    })
    .join('&');
  return `${target.slice(0, question)}?${query}`;
}

/** The request as a curl command (kubectl -v=9), credentials masked, headers sorted. */
export function curlCommand(method: string, url: string, headers: readonly string[]): string {
  const parts = [`curl -v -X${method}`];
  for (const [name, value] of Object.entries(redactedHeaders(headers))) {
    for (const one of Array.isArray(value) ? value : [value]) parts.push(`-H ${JSON.stringify(`${name}: ${one}`)}`);
  }
  parts.push(`'${redactTarget(url).replaceAll("'", "'\\''")}'`);
  return parts.join(' ');
}
