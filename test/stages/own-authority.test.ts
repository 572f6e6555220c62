// The port an absolute-form request target names, for the own-authority stage.
import t from 'tap';
import { absoluteFormPort } from '../../src/stages/own-authority.js';

void t.test('absoluteFormPort', async (t) => {
  const cases: [string, number | undefined][] = [
    ['/api/v1/pods', undefined],
    ['http://127.0.0.1:8001/api/v1/pods', 8001],
    ['HTTP://localhost:8001', 8001],
    ['http://[::1]:9000/version', 9000],
    ['http://localhost/api', 80],
    ['https://localhost/api', 443],
    ['http://[::1]/x', 80],
  ];
  for (const [target, port] of cases) t.equal(absoluteFormPort(target), port, target);
});
