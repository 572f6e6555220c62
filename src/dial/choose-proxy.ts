// Which forward proxy, if any, carries the connections to the API server: the cluster's
// `proxy-url`, else the proxy variables read as Go's http.ProxyFromEnvironment reads them
// (golang.org/x/net/http/httpproxy), which is what client-go falls back to.

import { BlockList, isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** The proxy variables of the environment. Upper case wins when set and not empty, as in Go. */
export interface ProxyEnvironment {
  readonly HTTPS_PROXY?: string | undefined;
  readonly https_proxy?: string | undefined;
  readonly HTTP_PROXY?: string | undefined;
  readonly http_proxy?: string | undefined;
  readonly NO_PROXY?: string | undefined;
  readonly no_proxy?: string | undefined;
}

/** Proxy schemes Go's transport can dial; `socks5h` is Go's alias of `socks5` (names are always sent as-is). */
export const PROXY_SCHEMES: readonly string[] = ['http:', 'https:', 'socks5:', 'socks5h:'];

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443', 'socks5:': '1080', 'socks5h:': '1080' };

/** The port a proxy or server URL means, its scheme's default when it names none. */
export function portOf(url: URL): number {
  return Number(url.port || DEFAULT_PORTS[url.protocol] || 0);
}

/** `scheme://host:port` of a proxy: what messages and logs may show (never its user or password). */
export function describeProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.hostname}:${portOf(proxy)}`;
}

/**
 * The proxy for connections to `server`. client-go uses `proxy-url` for every request, loopback
 * included (http.ProxyURL); without it, an https server gets HTTPS_PROXY and an http server
 * HTTP_PROXY, unless NO_PROXY excludes the server or it is localhost or a loopback IP.
 * `proxyUrl` must already be validated (kubeconfig/validate.ts).
 */
export function chooseProxy(server: URL, proxyUrl: string | undefined, env: ProxyEnvironment): URL | undefined {
  // client-go ignores an empty proxy-url.
  if (proxyUrl !== undefined && proxyUrl !== '') return new URL(proxyUrl);
  const value = server.protocol === 'https:' ? firstSet(env.HTTPS_PROXY, env.https_proxy) : firstSet(env.HTTP_PROXY, env.http_proxy);
  const proxy = parseProxyVariable(value);
  if (proxy === undefined || !isProxiedByEnvironment(server, firstSet(env.NO_PROXY, env.no_proxy) ?? '')) return undefined;
  return proxy;
}

function firstSet(...values: (string | undefined)[]): string | undefined {
  return values.find((value) => value !== undefined && value !== '');
}

/**
 * httpproxy `parseProxy`: a value without a scheme (`proxy.corp:3128`) means `http://`. A value
 * that is no URL even then is ignored, as Go ignores it.
 */
export function parseProxyVariable(value: string | undefined): URL | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = URL.canParse(value) ? new URL(value) : undefined;
  if (parsed !== undefined && parsed.host !== '') return parsed;
  return URL.canParse(`http://${value}`) ? new URL(`http://${value}`) : undefined;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** A URL's host without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** httpproxy `useProxy`: false for localhost, loopback IPs and what NO_PROXY names. */
export function isProxiedByEnvironment(server: URL, noProxy: string): boolean {
  const host = hostOf(server);
  if (host === 'localhost') return false;
  if (isIP(host) !== 0 && LOOPBACK.check(host, ipFamily(host))) return false;
  return !createNoProxyMatcher(noProxy)(host, String(portOf(server)));
}

/** Whether a host (lower case, IPv6 without brackets) and port are excluded from proxying. */
export type NoProxyMatcher = (host: string, port: string) => boolean;

/**
 * Compiles a NO_PROXY value the way httpproxy does: comma-separated entries, `*` for every host,
 * IPs and CIDRs (IPv4 or IPv6), `[IPv6]:port` or `IPv4:port`, and domains. `example.com` matches
 * itself and its subdomains, `.example.com` and `*.example.com` only the subdomains; a `:port`
 * suffix narrows an IP or domain entry to that port. Malformed entries are ignored.
 */
export function createNoProxyMatcher(noProxy: string): NoProxyMatcher {
  const entries = noProxy.split(',').map((entry) => entry.trim().toLowerCase()).filter((entry) => entry !== '');
  if (entries.includes('*')) return () => true;
  const matchers = entries.map(entryMatcher).filter((matcher) => matcher !== undefined);
  return (host, port) => matchers.some((matches) => matches(host, port));
}

function entryMatcher(entry: string): NoProxyMatcher | undefined {
  const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
  if (cidr !== null) return cidrMatcher(cidr[1]!, Number(cidr[2]));
  const { host, port } = splitEntry(entry);
  if (host === '') return undefined;
  if (isIP(host) !== 0) return ipMatcher(host, port);
  // `*.example.com` and `.example.com` match subdomains only; `example.com` matches itself too.
  const subdomainsOnly = host.startsWith('.') || host.startsWith('*.');
  const domain = host.replace(/^\*?\./, '');
  const ascii = domainToASCII(domain) || domain;
  return (target, targetPort) =>
    (target.endsWith(`.${ascii}`) || (!subdomainsOnly && target === ascii)) && (port === '' || port === targetPort);
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address. */
function splitEntry(entry: string): { host: string; port: string } {
  const bracketed = /^\[(.*)\](?::(\d*))?$/.exec(entry);
  if (bracketed !== null) return { host: bracketed[1]!, port: bracketed[2] ?? '' };
  if (isIP(entry) === 6) return { host: entry, port: '' };
  const withPort = /^(.*):(\d*)$/.exec(entry);
  return withPort === null ? { host: entry, port: '' } : { host: withPort[1]!, port: withPort[2]! };
}

function ipFamily(ip: string): 'ipv4' | 'ipv6' {
  return isIP(ip) === 4 ? 'ipv4' : 'ipv6';
}

function ipMatcher(ip: string, port: string): NoProxyMatcher {
  const list = new BlockList();
  list.addAddress(ip, ipFamily(ip));
  return (host, targetPort) => isIP(host) !== 0 && list.check(host, ipFamily(host)) && (port === '' || port === targetPort);
}

/** As in Go, a CIDR entry ignores ports. */
function cidrMatcher(network: string, prefix: number): NoProxyMatcher | undefined {
  const family = isIP(network);
  if (family === 0 || prefix > (family === 4 ? 32 : 128)) return undefined;
  const list = new BlockList();
  list.addSubnet(network, prefix, ipFamily(network));
  return (host) => isIP(host) !== 0 && list.check(host, ipFamily(host));
}
