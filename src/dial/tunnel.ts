// Opens a TCP tunnel to host:port through a forward proxy: HTTP CONNECT (RFC 9110 §9.3.6) to an
// http or https proxy, or SOCKS5 (RFC 1928, username/password per RFC 1929), as Go's transport
// dials `proxy-url` and HTTPS_PROXY. Errors name the proxy by scheme, host and port only.

import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { describeProxy, hostOf, portOf } from './choose-proxy.js';
import { SocketReader } from './socket-reader.js';

export interface TunnelOptions {
  /** Bounds reaching the proxy and its answer, together. */
  readonly timeoutMs: number;
  /** TLS options for an https proxy (Go verifies it with the cluster's roots). */
  readonly tls?: ConnectionOptions;
}

/** Why no tunnel: the proxy could not be reached, or it refused, or it did not answer in time. */
export type TunnelFailure = 'unreachable' | 'refused' | 'timeout';

/** A tunnel that could not be opened; `message` names the proxy, never its credentials. */
export class ProxyTunnelError extends Error {
  override readonly name = 'ProxyTunnelError';
  constructor(
    readonly failure: TunnelFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A socket to `host:port` through `proxy`, ready for the caller's bytes (or TLS). */
export function openTunnel(proxy: URL, host: string, port: number, options: TunnelOptions): Promise<Socket> {
  const name = describeProxy(proxy);
  const socket = connectToProxy(proxy, options.tls);
  const reader = new SocketReader(socket);
  const handshake = reader
    .connected(proxy.protocol === 'https:' ? 'secureConnect' : 'connect')
    .catch((err: unknown) => {
      throw new ProxyTunnelError('unreachable', `proxy ${name}: ${describeDialError(err, proxy)}`, { cause: err });
    })
    .then(() => (proxy.protocol.startsWith('socks5') ? socks5Connect(reader, proxy, host, port) : httpConnect(reader, proxy, host, port)));
  return withTimeout(handshake, options.timeoutMs, socket, name).then(
    () => reader.release(),
    (err: unknown) => {
      socket.destroy();
      throw err;
    },
  );
}

function connectToProxy(proxy: URL, tls: ConnectionOptions | undefined): Socket {
  const host = hostOf(proxy);
  const port = portOf(proxy);
  const socket =
    proxy.protocol === 'https:'
      ? connectTls({ ...tls, host, port, servername: isIP(host) === 0 ? host : undefined, ALPNProtocols: ['http/1.1'] })
      : connectTcp({ host, port });
  socket.setNoDelay(true);
  return socket;
}

function withTimeout(handshake: Promise<void>, timeoutMs: number, socket: Socket, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      socket.destroy();
      reject(new ProxyTunnelError('timeout', `proxy ${name}: no tunnel within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  return Promise.race([handshake, timeout]).finally(() => clearTimeout(timer));
}

/** Go's wording for the usual reasons a proxy cannot be reached. */
function describeDialError(err: unknown, proxy: URL): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ECONNREFUSED') return 'connect: connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `lookup ${hostOf(proxy)}: no such host`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'connect: no route to host';
  // Anything but a socket errno from an https proxy is its TLS handshake failing (certificate, protocol).
  if (proxy.protocol === 'https:' && !(typeof code === 'string' && /^E[A-Z]+$/.test(code))) return `tls: ${message}`;
  return message;
}

/** Proxy credentials from the URL's userinfo, decoded (Go's `url.User`). */
function credentials(proxy: URL): { username: string; password: string } | undefined {
  if (proxy.username === '' && proxy.password === '') return undefined;
  return { username: decode(proxy.username), password: decode(proxy.password) };
}

function decode(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    return component;
  }
}

/** `host:port`, IPv6 in brackets: the CONNECT authority (RFC 9110 §9.3.6). */
function authority(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

async function httpConnect(reader: SocketReader, proxy: URL, host: string, port: number): Promise<void> {
  const target = authority(host, port);
  const user = credentials(proxy);
  const auth = user === undefined ? '' : `Proxy-Authorization: Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}\r\n`;
  reader.socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`);
  const head = await reader.readUntil('\r\n\r\n', MAX_RESPONSE_HEAD_BYTES).catch((err: unknown) => {
    throw refused(proxy, `no answer to CONNECT ${target} (${err instanceof Error ? err.message : String(err)})`, err);
  });
  const statusLine = head.toString('latin1').split('\r\n', 1)[0] ?? '';
  const status = /^HTTP\/1\.[01] (\d{3})\b/.exec(statusLine)?.[1];
  if (status === undefined) throw refused(proxy, `CONNECT ${target}: malformed answer ${JSON.stringify(statusLine.slice(0, 80))}`);
  if (!status.startsWith('2')) throw refused(proxy, `CONNECT ${target}: ${statusLine.slice(9, 120)}`);
}

const MAX_RESPONSE_HEAD_BYTES = 16 * 1024;

function refused(proxy: URL, what: string, cause?: unknown): ProxyTunnelError {
  return new ProxyTunnelError('refused', `proxy ${describeProxy(proxy)}: ${what}`, cause === undefined ? undefined : { cause });
}

// RFC 1928 values.
const SOCKS_VERSION = 0x05;
const NO_AUTHENTICATION = 0x00;
const USERNAME_PASSWORD = 0x02;
const NO_ACCEPTABLE_METHODS = 0xff;
const CONNECT = 0x01;
const ADDRESS_IPV4 = 0x01;
const ADDRESS_DOMAIN = 0x03;
const ADDRESS_IPV6 = 0x04;
/** RFC 1929 sub-negotiation version. */
const AUTH_VERSION = 0x01;

/** RFC 1928 §6 reply codes, in Go's (x/net/internal/socks) words. */
const SOCKS_REPLIES: readonly string[] = [
  'succeeded',
  'general SOCKS server failure',
  'connection not allowed by ruleset',
  'network unreachable',
  'host unreachable',
  'connection refused',
  'TTL expired',
  'command not supported',
  'address type not supported',
];

async function socks5Connect(reader: SocketReader, proxy: URL, host: string, port: number): Promise<void> {
  const user = credentials(proxy);
  // Like Go, offer username/password only when the URL has credentials, and "none" always.
  reader.socket.write(Buffer.from(user === undefined ? [SOCKS_VERSION, 1, NO_AUTHENTICATION] : [SOCKS_VERSION, 2, NO_AUTHENTICATION, USERNAME_PASSWORD]));
  const [version, method] = await socksRead(reader, proxy, 2);
  if (version !== SOCKS_VERSION) throw refused(proxy, `not a SOCKS5 proxy (version ${version})`);
  if (method === NO_ACCEPTABLE_METHODS) {
    throw refused(proxy, user === undefined ? 'SOCKS5 proxy requires authentication' : 'no acceptable SOCKS5 authentication method');
  }
  if (method === USERNAME_PASSWORD && user !== undefined) await socks5Authenticate(reader, proxy, user);
  else if (method !== NO_AUTHENTICATION) throw refused(proxy, `unsupported SOCKS5 authentication method ${method}`);

  reader.socket.write(Buffer.concat([Buffer.from([SOCKS_VERSION, CONNECT, 0x00]), socksAddress(host, port)]));
  const [, reply, , addressType] = await socksRead(reader, proxy, 4);
  if (reply !== 0) {
    throw refused(proxy, `SOCKS5 CONNECT ${authority(host, port)}: ${SOCKS_REPLIES[reply!] ?? `unknown reply ${reply}`}`);
  }
  // The bound address that follows is of no use to a client, but it must be read off the stream.
  const addressLength = addressType === ADDRESS_IPV4 ? 4 : addressType === ADDRESS_IPV6 ? 16 : (await socksRead(reader, proxy, 1))[0]!;
  await socksRead(reader, proxy, addressLength + 2);
}

async function socks5Authenticate(reader: SocketReader, proxy: URL, user: { username: string; password: string }): Promise<void> {
  const username = Buffer.from(user.username);
  const password = Buffer.from(user.password);
  // RFC 1929 fields are 1 to 255 bytes; Go also lets an empty password through.
  if (username.length === 0 || username.length > 255 || password.length > 255) {
    throw refused(proxy, 'SOCKS5 username and password must be 1 to 255 bytes');
  }
  reader.socket.write(Buffer.concat([Buffer.from([AUTH_VERSION, username.length]), username, Buffer.from([password.length]), password]));
  const [, status] = await socksRead(reader, proxy, 2);
  if (status !== 0) throw refused(proxy, 'SOCKS5 username/password authentication failed');
}

/** DST.ADDR and DST.PORT: IPs as IPs, names as names for the proxy to resolve (Go does the same). */
function socksAddress(host: string, port: number): Buffer {
  const portBytes = Buffer.from([port >> 8, port & 0xff]);
  const family = isIP(host);
  if (family === 4) return Buffer.concat([Buffer.from([ADDRESS_IPV4, ...host.split('.').map(Number)]), portBytes]);
  if (family === 6) return Buffer.concat([Buffer.from([ADDRESS_IPV6]), ipv6Bytes(host), portBytes]);
  const name = Buffer.from(host);
  return Buffer.concat([Buffer.from([ADDRESS_DOMAIN, name.length]), name, portBytes]);
}

/** The 16 bytes of an IPv6 address, `::` and an embedded IPv4 tail expanded. */
function ipv6Bytes(address: string): Buffer {
  let text = address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  return bytes;
}

async function socksRead(reader: SocketReader, proxy: URL, length: number): Promise<Buffer> {
  return reader.read(length).catch((err: unknown) => {
    throw refused(proxy, `SOCKS5 handshake cut short (${err instanceof Error ? err.message : String(err)})`, err);
  });
}
