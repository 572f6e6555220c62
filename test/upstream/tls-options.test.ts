// The API server's TLS options: the certificates are parsed once into a context shared by a
// pool's connections; material that does not parse is left for each connection to report.
import t from 'tap';
import type { UpstreamConfig } from '../../src/config/proxy-config.js';
import { tlsConnectOptions } from '../../src/upstream/tls-options.js';

const upstream = (tls: UpstreamConfig['tls']) => ({ tls }) as UpstreamConfig;

void t.test('material that parses is parsed once, into a shared context', (t) => {
  const options = tlsConnectOptions(upstream({ rejectUnauthorized: true }));
  t.ok(options.secureContext !== undefined, 'a context');
  t.same(options.ALPNProtocols, ['http/1.1']);
  t.not(tlsConnectOptions(upstream({ rejectUnauthorized: true })).secureContext, options.secureContext, 'one per pool, not one per process');
  t.end();
});

void t.test('material that does not parse gets no context: each connection reports its error, as before', (t) => {
  const options = tlsConnectOptions(upstream({ rejectUnauthorized: true, cert: Buffer.from('not a certificate'), key: Buffer.from('not a key') }));
  t.equal(options.secureContext, undefined);
  t.same(options.key, Buffer.from('not a key'), 'the material is still passed on');
  t.end();
});
