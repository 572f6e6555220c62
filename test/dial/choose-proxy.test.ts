// Which proxy a connection to the API server uses: proxy-url, else the environment read with Go's
// httpproxy rules. The cases follow golang.org/x/net/http/httpproxy's own tests.
import t from 'tap';
import { chooseProxy, createNoProxyMatcher, describeProxy, isProxiedByEnvironment, parseProxyVariable, type ProxyEnvironment } from '../../src/dial/choose-proxy.js';

/** The NO_PROXY list of httpproxy's TestUseProxy, in our words. */
const NO_PROXY = 'foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, 10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, 2002:db8:a::45/64';

const useProxyCases: [name: string, host: string, proxied: boolean][] = [
  ['localhost is never proxied', 'localhost', false],
  ['127.0.0.1 is loopback: never proxied', '127.0.0.1', false],
  ['all of 127.0.0.0/8 is loopback', '127.0.0.2', false],
  ['::1 is loopback', '[::1]', false],
  ['::2 is not loopback', '[::2]', true],
  ['an exact IPv4 entry matches', '192.168.1.1', false],
  ['an IPv4:port entry does not match another port', '192.168.1.2', true],
  ['an IPv4:port entry matches its port', '192.168.1.3', false],
  ['an IPv4 address in no entry is proxied', '192.168.1.4', true],
  ['an IPv4 CIDR matches the addresses inside it', '10.0.0.2', false],
  ['an IPv4 CIDR does not match beyond it', '10.0.0.4', true],
  ['an exact IPv6 entry matches', '[2001:db8::52:0:1]', false],
  ['a [IPv6]:port entry does not match another port', '[2001:db8::52:0:2]', true],
  ['a [IPv6]:port entry matches its port', '[2001:db8::52:0:3]', false],
  ['an IPv6 CIDR matches the addresses inside it', '[2002:db8:a::123]', false],
  ['an IPv6 address in no entry is proxied', '[fe80::424b:c8be:1643:a1b6]', true],
  ['.barbaz.net does not match barbaz.net itself', 'barbaz.net', true],
  ['.barbaz.net matches a subdomain', 'www.barbaz.net', false],
  ['foobar.com matches itself', 'foobar.com', false],
  ['foobar.com matches its subdomains', 'www.foobar.com', false],
  ['foobar.com does not match a name that merely ends with it', 'foofoobar.com', true],
  ['an entry is not matched by a suffix of it', 'baz.com', true],
  ['a name that starts with localhost is not localhost', 'localhost.net', true],
  ['a name that ends with localhost is not localhost', 'local.localhost', true],
  ['a longer name with the same ending is not a subdomain', 'barbarbaz.net', true],
  ['*.wildcard.io does not match wildcard.io itself', 'wildcard.io', true],
  ['*.wildcard.io matches a subdomain', 'nested.wildcard.io', false],
  ['*.wildcard.io does not match a name that merely ends with it', 'awildcard.io', true],
];

void t.test('NO_PROXY and the loopback rule, as httpproxy.useProxy (port 80)', async (t) => {
  for (const [name, host, proxied] of useProxyCases) {
    t.equal(isProxiedByEnvironment(new URL(`http://${host}:80/`), NO_PROXY), proxied, name);
  }
});

void t.test('NO_PROXY entries', async (t) => {
  const cases: [name: string, noProxy: string, host: string, port: string, excluded: boolean][] = [
    ['* excludes every host', '*', 'api.example', '443', true],
    ['* among other entries still excludes every host', 'a.example, *', 'api.example', '443', true],
    ['entries are case-insensitive and trimmed', '  API.Example.COM ', 'api.example.com', '443', true],
    ['a domain with a port matches that port only', 'api.example:6443', 'api.example', '6443', true],
    ['a domain with a port does not match another port', 'api.example:6443', 'api.example', '443', false],
    ['an empty list excludes nothing', '', 'api.example', '443', false],
    ['empty and malformed entries are ignored', ',, :80, [::1', 'api.example', '443', false],
    ['a bracketed IPv6 address without a port matches', '[2001:db8::1]', '2001:db8::1', '443', true],
    ['an IPv4 entry matches the IPv4-mapped IPv6 form', '10.1.2.3', '::ffff:a01:203', '443', true],
    ['an international domain matches its punycode form', 'bücher.example', 'xn--bcher-kva.example', '443', true],
    ['a CIDR ignores the port', '10.0.0.0/8', '10.9.8.7', '6443', true],
    ['an invalid CIDR is ignored', '10.0.0.0/33', '10.0.0.1', '443', false],
  ];
  for (const [name, noProxy, host, port, excluded] of cases) {
    t.equal(createNoProxyMatcher(noProxy)(host, port), excluded, name);
  }
});

void t.test('a proxy variable without a scheme means http://, as httpproxy.parseProxy', async (t) => {
  const cases: [value: string, expected: string | undefined][] = [
    ['127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['cache.corp.example.com:1234', 'http://cache.corp.example.com:1234'],
    ['cache.corp.example.com', 'http://cache.corp.example.com'],
    ['https://cache.corp.example.com', 'https://cache.corp.example.com'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['https://127.0.0.1:8080', 'https://127.0.0.1:8080'],
    ['socks5://127.0.0.1', 'socks5://127.0.0.1'],
    ['', undefined],
  ];
  for (const [value, expected] of cases) {
    const parsed = parseProxyVariable(value);
    t.equal(parsed === undefined ? undefined : `${parsed.protocol}//${parsed.host}`, expected, JSON.stringify(value));
  }
});

void t.test('chooseProxy: proxy-url first, else the variable of the target scheme', async (t) => {
  const both: ProxyEnvironment = { HTTP_PROXY: 'http.proxy.tld', HTTPS_PROXY: 'secure.proxy.tld' };
  const cases: [name: string, server: string, proxyUrl: string | undefined, env: ProxyEnvironment, expected: string | undefined][] = [
    ['an http server uses HTTP_PROXY, not HTTPS_PROXY', 'http://insecure.tld', undefined, both, 'http://http.proxy.tld:80'],
    ['an https server uses HTTPS_PROXY', 'https://secure.tld', undefined, both, 'http://secure.proxy.tld:80'],
    ['an https HTTPS_PROXY keeps its scheme', 'https://secure.tld', undefined, { HTTPS_PROXY: 'https://secure.proxy.tld' }, 'https://secure.proxy.tld:443'],
    ['an https server with only HTTP_PROXY set goes direct', 'https://secure.tld', undefined, { HTTP_PROXY: 'http.proxy.tld' }, undefined],
    ['no variables: direct', 'https://secure.tld', undefined, {}, undefined],
    ['upper case beats lower case', 'https://api.tld', undefined, { HTTPS_PROXY: 'upper:1', https_proxy: 'lower:2' }, 'http://upper:1'],
    ['lower case is read when upper case is unset', 'https://api.tld', undefined, { https_proxy: 'lower:2' }, 'http://lower:2'],
    ['an empty upper-case variable counts as unset', 'https://api.tld', undefined, { HTTPS_PROXY: '', https_proxy: 'lower:2' }, 'http://lower:2'],
    ['NO_PROXY naming the server: direct', 'http://example.com/', undefined, { NO_PROXY: 'example.com', HTTP_PROXY: 'proxy' }, undefined],
    ['.example.com does not exclude example.com', 'http://example.com/', undefined, { NO_PROXY: '.example.com', HTTP_PROXY: 'proxy' }, 'http://proxy:80'],
    ['a mere suffix of the name excludes nothing', 'http://example.com/', undefined, { NO_PROXY: 'ample.com', HTTP_PROXY: 'proxy' }, 'http://proxy:80'],
    ['example.com excludes its subdomains', 'http://foo.example.com/', undefined, { NO_PROXY: 'example.com', HTTP_PROXY: 'proxy' }, undefined],
    ['an unrelated NO_PROXY entry excludes nothing', 'http://example.com/', undefined, { NO_PROXY: '.foo.com', HTTP_PROXY: 'proxy' }, 'http://proxy:80'],
    ['lower-case no_proxy is read too', 'https://api.tld', undefined, { HTTPS_PROXY: 'proxy', no_proxy: 'api.tld' }, undefined],
    ['NO_PROXY matches the default port of the scheme', 'https://api.tld', undefined, { HTTPS_PROXY: 'proxy', NO_PROXY: 'api.tld:443' }, undefined],
    ['the environment never proxies a loopback server', 'https://127.0.0.1:6443', undefined, { HTTPS_PROXY: 'proxy' }, undefined],
    ['the environment never proxies localhost', 'https://localhost:6443', undefined, { HTTPS_PROXY: 'proxy' }, undefined],
    ['0.0.0.0 is not loopback to Go: proxied', 'https://0.0.0.0:6443', undefined, { HTTPS_PROXY: 'proxy' }, 'http://proxy:80'],
    ['proxy-url beats the environment', 'https://api.tld', 'socks5://socks.tld:1080', both, 'socks5://socks.tld:1080'],
    ['proxy-url applies even to a loopback server', 'https://127.0.0.1:6443', 'http://proxy.tld:3128', {}, 'http://proxy.tld:3128'],
    ['proxy-url ignores NO_PROXY', 'https://api.tld', 'http://proxy.tld:3128', { NO_PROXY: '*' }, 'http://proxy.tld:3128'],
    ['an empty proxy-url counts as unset', 'https://api.tld', '', { HTTPS_PROXY: 'env.proxy:1' }, 'http://env.proxy:1'],
  ];
  for (const [name, server, proxyUrl, env, expected] of cases) {
    const proxy = chooseProxy(new URL(server), proxyUrl, env);
    t.equal(proxy === undefined ? undefined : describeProxy(proxy), expected, name);
  }
});

void t.test('describeProxy names scheme, host and port, never the credentials', async (t) => {
  t.equal(describeProxy(new URL('http://user:s3cret@proxy.tld:3128')), 'http://proxy.tld:3128');
  t.equal(describeProxy(new URL('socks5://user:s3cret@[::1]')), 'socks5://[::1]:1080', 'the default SOCKS port is 1080');
  t.equal(describeProxy(new URL('https://proxy.tld')), 'https://proxy.tld:443');
});
