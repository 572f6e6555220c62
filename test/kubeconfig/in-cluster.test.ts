// In-cluster configuration: when it applies and what it resolves to.
import { join } from 'node:path';
import t from 'tap';
import { inClusterConfig } from '../../src/kubeconfig/in-cluster.js';

void t.test('in-cluster configuration', async (t) => {
  const dir = t.testdir({ sa: { token: 'sa-token\n', 'ca.crt': 'pem' }, 'sa-no-ca': { token: 't' } });
  const sa = join(dir, 'sa');
  t.equal(inClusterConfig({ serviceAccountDir: sa }, {}), undefined, 'no service variables: not a pod');
  t.equal(inClusterConfig({ host: '10.0.0.1', port: '443', serviceAccountDir: join(dir, 'none') }, {}), undefined, 'no token file: not a pod');

  const plain = inClusterConfig({ host: '10.0.0.1', port: '443', serviceAccountDir: sa }, {});
  t.match(plain?.cluster, { server: 'https://10.0.0.1:443', certificateAuthority: { path: join(sa, 'ca.crt') }, insecureSkipTlsVerify: false });
  t.match(plain?.user, { tokenFile: join(sa, 'token'), unsupported: [] });
  t.equal(inClusterConfig({ host: 'fd00::1', port: '6443', serviceAccountDir: sa }, {})?.cluster.server, 'https://[fd00::1]:6443', 'IPv6 host bracketed');
  t.equal(inClusterConfig({ host: '10.0.0.1', port: '443', serviceAccountDir: join(dir, 'sa-no-ca') }, {})?.cluster.certificateAuthority, undefined, 'no ca.crt: system roots');

  const overridden = inClusterConfig({ host: '10.0.0.1', port: '443', serviceAccountDir: sa }, { server: 'https://api.example:6443', token: 'flag', certificateAuthority: '/etc/ca.pem' });
  t.match(overridden?.cluster, { server: 'https://api.example:6443', certificateAuthority: { path: '/etc/ca.pem' } });
  t.same(overridden?.user.token, 'flag');
  t.equal(overridden?.user.tokenFile, undefined, '--token replaces the service-account token');
});
