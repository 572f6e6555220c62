// The proxy's own URL for the written kubeconfig and the login link.
import t from 'tap';
import { ownOrigin, ownServer } from '../../src/cli/own-url.js';

void t.test('ownOrigin', async (t) => {
  const cases: [('http' | 'https'), string, string][] = [
    ['http', '127.0.0.1:8001', 'http://127.0.0.1:8001'],
    ['http', '[::1]:8001', 'http://[::1]:8001'],
    ['http', '0.0.0.0:8001', 'http://127.0.0.1:8001'],
    ['http', '[::]:8001', 'http://[::1]:8001'],
    ['http', '10.1.2.3:8001', 'http://10.1.2.3:8001'],
    ['https', '127.0.0.1:8443', 'https://localhost:8443'],
    ['https', '[::1]:8443', 'https://localhost:8443'],
    ['https', '0.0.0.0:8443', 'https://localhost:8443'],
    ['https', '10.1.2.3:8443', 'https://10.1.2.3:8443'],
  ];
  for (const [scheme, address, origin] of cases) t.equal(ownOrigin(scheme, address), origin, `${scheme} ${address}`);
});

void t.test('ownServer adds a prefix the proxy strips, not one it forwards', async (t) => {
  t.equal(ownServer('http://127.0.0.1:8001', '/'), 'http://127.0.0.1:8001');
  t.equal(ownServer('http://127.0.0.1:8001', '/k8s/'), 'http://127.0.0.1:8001/k8s');
  t.equal(ownServer('http://127.0.0.1:8001', '/api/'), 'http://127.0.0.1:8001', '/api… is forwarded whole: clients call /api/v1 themselves');
});
