/**
 * Password guessing is throttled per username and client address, with growing waits, for
 * known and unknown usernames alike — and an attacker cannot use it to lock the person
 * out: the right password still works from another address. Addresses come from
 * X-Forwarded-For, the server trusting its proxy (`--trust-proxy`), as deployed behind one.
 */
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { DEFAULT_THROTTLE } from '../../src/oauth/sign-in-throttle.js';
import {
  addClient,
  addTestUser,
  CookieJar,
  form,
  getPage,
  hiddenValue,
  PASSWORD,
  testApp,
  type TestApp,
} from '../helpers/harness.js';

const ATTACKER = '203.0.113.9';
const PERSON = '198.51.100.7';
const { perAddress, perUsername, firstWaitSeconds, maxWaitSeconds } = DEFAULT_THROTTLE;

describe('sign-in throttle', () => {
  let t: TestApp;
  let clientId: string;
  let logs: Array<Record<string, unknown>>;
  beforeEach(async () => {
    logs = [];
    const logger = pino(
      { level: 'info', base: undefined },
      { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
    ) as FastifyBaseLogger;
    t = await testApp({ trustProxy: true, logger });
    clientId = (await addClient(t.store)).client.id;
    await addTestUser(t.store, 'alice', ['PATIENT']);
  });
  afterEach(async () => {
    await t.close();
  });

  /** Opens the sign-in page from `address`: the authorization request, then the page. */
  async function openLoginFrom(address: string) {
    const jar = new CookieJar();
    const headers = () => ({ cookie: jar.header(), 'x-forwarded-for': address });
    const start = await t.app.inject({
      method: 'GET',
      url: `/apiAuthorize.action?${form({ response_type: 'code', client_id: clientId })}`,
      headers: headers(),
    });
    jar.store(start);
    const login = await t.app.inject({ method: 'GET', url: String(start.headers.location), headers: headers() });
    jar.store(login);
    return { jar, headers, request: hiddenValue(login.body, 'request'), csrf: hiddenValue(login.body, 'csrf') };
  }

  /** Posts the sign-in form from `address`; where it leads, and the page there when it is the sign-in page. */
  async function attempt(username: string, password: string, address = ATTACKER) {
    const login = await openLoginFrom(address);
    const res = await t.app.inject({
      method: 'POST',
      url: '/login',
      headers: { ...login.headers(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ request: login.request, csrf: login.csrf, username, password }),
    });
    const location = String(res.headers.location);
    const page = location.startsWith('/login') ? await getPage(t.app, location, login.jar) : undefined;
    return { status: res.statusCode, location, page, body: page?.body ?? '' };
  }

  const locked = /[?&]error=locked&until=\d+$/;

  it('makes one address wait after repeated failures, even with the right password, until the wait passes', async () => {
    for (let i = 0; i < perAddress; i++) {
      expect((await attempt('alice', 'wrong password')).location).toMatch(/error=credentials$/);
    }
    const refused = await attempt('alice', PASSWORD);
    expect(refused.status).toBe(303);
    expect(refused.location).toMatch(locked);
    expect(refused.page?.statusCode).toBe(429);
    expect(refused.page?.headers['retry-after']).toBe(String(firstWaitSeconds));
    expect(refused.body).toContain('Too many failed sign-ins for this username');
    expect(refused.body).toContain(`Wait about ${firstWaitSeconds} seconds, then try again.`);

    t.advance(firstWaitSeconds * 1000);
    // The same page once the wait is over.
    const later = await getPage(t.app, refused.location, new CookieJar());
    expect(later.statusCode).not.toBe(429);
    expect((await attempt('alice', PASSWORD)).location).toMatch(/^\/consent\?/);
  });

  it('lets the person sign in from another address while an attacker hammers the username', async () => {
    // The attacker goes on for an hour, trying again whenever the wait allows.
    let checked = 0;
    let refused = 0;
    for (let minute = 0; minute < 60; minute++) {
      for (let i = 0; i < 3; i++) {
        const r = await attempt('alice', `guess ${minute}.${i}`);
        if (r.location.endsWith('error=credentials')) checked++;
        else if (locked.test(r.location)) refused++;
        else throw new Error(`unexpected answer ${r.location}`);
      }
      if (minute % 10 === 0) expect((await attempt('alice', PASSWORD, PERSON)).location).toMatch(/^\/consent\?/);
      t.advance(60_000);
    }
    // The rule, modelled on its own: `perAddress` at once, then one after each doubled wait.
    let expected = 0;
    for (let minute = 0, waitUntil = 0; minute < 60; minute++) {
      for (let i = 0; i < 3; i++) {
        if (minute * 60_000 < waitUntil) continue;
        expected++;
        const over = expected - perAddress;
        waitUntil = over < 0 ? 0 : minute * 60_000 + Math.min(maxWaitSeconds, firstWaitSeconds * 2 ** over) * 1000;
      }
    }
    expect(expected).toBeLessThan(20);
    expect(checked).toBe(expected);
    expect(refused).toBe(180 - checked);
    // And the attacker's own address is still held, the right password included.
    expect((await attempt('alice', PASSWORD)).location).toMatch(locked);
    expect((await attempt('alice', PASSWORD, PERSON)).location).toMatch(/^\/consent\?/);
  });

  it('past the username ceiling, addresses that failed wait for the username; a clean address does not', async () => {
    // Guessing spread over many addresses, each with a single guess.
    for (let i = 0; i < perUsername; i++) {
      expect((await attempt('alice', 'wrong password', `192.0.2.${i + 1}`)).location).toMatch(/error=credentials$/);
    }
    // An address that failed once, far from its own allowance, now waits for the username.
    expect((await attempt('alice', PASSWORD, '192.0.2.1')).location).toMatch(locked);
    // The person, from an address with no failure, is not held.
    expect((await attempt('alice', PASSWORD, PERSON)).location).toMatch(/^\/consent\?/);
    // IPv6 counts by /64: another address in a failed /64 is not a fresh one.
    expect((await attempt('alice', 'wrong password', '2001:db8:1:2::1')).location).toMatch(/error=credentials$/);
    expect((await attempt('alice', PASSWORD, '2001:db8:1:2:ffff::9')).location).toMatch(locked);
    expect((await attempt('alice', PASSWORD, '2001:db8:1:3::1')).location).toMatch(/^\/consent\?/);
  });

  it('treats unknown usernames the same way, so the throttle reveals nothing', async () => {
    for (let i = 0; i < perAddress; i++) await attempt('nobody', 'wrong password');
    expect((await attempt('nobody', 'anything at all')).location).toMatch(locked);
    expect((await attempt('nobody', 'anything at all', PERSON)).location).toMatch(/error=credentials$/);
  });

  it('counts usernames without regard to case and leaves other people alone', async () => {
    for (let i = 0; i < perAddress; i++) await attempt(i % 2 ? 'ALICE' : 'alice', 'wrong password');
    expect((await attempt('alice', PASSWORD)).location).toMatch(locked);
    await addTestUser(t.store, 'bob', ['PATIENT']);
    expect((await attempt('bob', PASSWORD)).location).toMatch(/^\/consent\?/);
  });

  it('signs alice in as ALICE, and Zoë registered precomposed as ZOË typed decomposed', async () => {
    expect((await attempt('ALICE', PASSWORD)).location).toMatch(/^\/consent\?/);
    expect((await attempt('Alice', 'wrong password')).location).toMatch(/error=credentials$/);
    await addTestUser(t.store, 'Zo\u00eb', ['PATIENT']);
    expect((await attempt('ZOE\u0308', PASSWORD)).location).toMatch(/^\/consent\?/);
    expect((await t.store.getPersonByUsername('zoe\u0308'))?.username).toBe('Zo\u00eb');
  });

  it("starts the address's count afresh after a successful sign-in", async () => {
    for (let i = 0; i < perAddress - 1; i++) await attempt('alice', 'wrong password');
    expect((await attempt('alice', PASSWORD)).location).toMatch(/^\/consent\?/);
    for (let i = 0; i < perAddress - 1; i++) await attempt('alice', 'wrong password');
    expect((await attempt('alice', PASSWORD)).location).toMatch(/^\/consent\?/);
  });

  it('logs each lockout with the username, the client and the address', async () => {
    for (let i = 0; i < perAddress; i++) await attempt('alice', 'wrong password');
    await attempt('alice', 'wrong password');
    const lockouts = logs.filter((l) => l.event === 'sign_in_locked');
    expect(lockouts).toHaveLength(1);
    expect(lockouts[0]).toMatchObject({ username: 'alice', client: clientId, address: ATTACKER, level: 40 });
    expect(Date.parse(String(lockouts[0]?.address_until))).toBeGreaterThan(Date.now());
    expect(logs.filter((l) => l.event === 'sign_in_throttled')).toMatchObject([
      { username: 'alice', client: clientId, address: ATTACKER },
    ]);
    expect(logs.filter((l) => l.event === 'sign_in_failed')).toHaveLength(perAddress);
    expect(JSON.stringify(logs)).not.toContain('wrong password');
  });

  it('forgets every count of the username with tessera user unlock', async () => {
    for (let i = 0; i < perAddress; i++) await attempt('alice', 'wrong password');
    expect((await attempt('alice', PASSWORD)).location).toMatch(locked);
    const run = await runCli(['user', 'unlock', 'ALICE', '--db', t.url, '--json'], { stdin: '', env: {} });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ username: 'alice', unlocked: true, counts_cleared: 2 });
    expect((await attempt('alice', PASSWORD)).location).toMatch(/^\/consent\?/);
  });

  /** Opens `n` sign-ins from one address first, then posts them all at once: a burst of parallel guesses. */
  async function burst(passwords: string[]) {
    const logins = [];
    for (let i = 0; i < passwords.length; i++) logins.push(await openLoginFrom(ATTACKER));
    const answers = await Promise.all(
      logins.map((login, i) =>
        t.app.inject({
          method: 'POST',
          url: '/login',
          headers: { ...login.headers(), 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({ request: login.request, csrf: login.csrf, username: 'alice', password: passwords[i] }),
        }),
      ),
    );
    return answers.map((res) => String(res.headers.location));
  }

  it('counts each attempt before its password is checked: of a parallel burst only the allowance is checked', async () => {
    const locations = await burst(Array.from({ length: 50 }, () => 'wrong password'));
    expect(locations.filter((l) => l.endsWith('error=credentials'))).toHaveLength(perAddress);
    expect(locations.filter((l) => locked.test(l))).toHaveLength(50 - perAddress);
    expect((await attempt('alice', PASSWORD)).location).toMatch(locked);
    expect((await attempt('alice', PASSWORD, PERSON)).location).toMatch(/^\/consent\?/);
  });
});
