// One-time login links: once, within their time to live; new ones announced at most every 10 s.
import t from 'tap';
import { LoginLinks } from '../../src/stages/login-links.js';

void t.test('a code works once, within its time to live', async (t) => {
  let now = 1_000_000;
  const links = new LoginLinks(60_000, () => now);
  const code = links.issue();
  t.match(code, /^[A-Za-z0-9_-]{22}$/, '128 bits, base64url');
  t.not(links.issue(), code, 'random');
  t.equal(links.redeem('made-up'), 'unknown');
  t.equal(links.redeem(code), 'accepted');
  t.equal(links.redeem(code), 'unknown', 'used up');
  const late = links.issue();
  now += 60_000;
  t.equal(links.redeem(late), 'expired', 'at its time to live');
  t.equal(links.redeem(late), 'unknown', 'and gone after that try');
});

void t.test('at most four codes are open; the oldest goes first', async (t) => {
  const links = new LoginLinks(60_000);
  const codes = [links.issue(), links.issue(), links.issue(), links.issue(), links.issue()];
  t.equal(links.redeem(codes[0]!), 'unknown');
  for (const code of codes.slice(1)) t.equal(links.redeem(code), 'accepted');
});

void t.test('renewals are announced at most every 10 s, only once someone listens', async (t) => {
  let now = 0;
  const links = new LoginLinks(60_000, () => now);
  t.equal(links.renew(), false, 'nobody to announce to');
  const announced: string[] = [];
  links.onRenewal((code) => announced.push(code));
  t.equal(links.renew(), true);
  now += 9_999;
  t.equal(links.renew(), false, 'too soon');
  now += 1;
  t.equal(links.renew(), true);
  t.equal(announced.length, 2);
  for (const code of announced) t.equal(links.redeem(code), 'accepted', 'announced codes work');
});
