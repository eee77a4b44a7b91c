/** Password guessing is throttled per username, for known and unknown usernames alike. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_THROTTLE } from '../../src/oauth/sign-in-throttle.js';
import {
  addClient,
  addTestUser,
  getPage,
  openLogin,
  PASSWORD,
  postPage,
  testApp,
  type TestApp,
} from '../helpers/harness.js';

describe('sign-in throttle', () => {
  let t: TestApp;
  let clientId: string;
  beforeEach(async () => {
    t = await testApp();
    clientId = (await addClient(t.store)).client.id;
    await addTestUser(t.store, 'alice', ['PATIENT']);
  });
  afterEach(async () => {
    await t.close();
  });

  async function attempt(username: string, password: string) {
    const login = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    const res = await postPage(
      t.app,
      '/login',
      { request: login.request, csrf: login.csrf, username, password },
      login.jar,
    );
    const location = String(res.headers.location);
    const page = location.startsWith('/login') ? (await getPage(t.app, location, login.jar)).body : '';
    return { status: res.statusCode, location, page };
  }

  it('locks a username after repeated failures, even for the right password, until the window passes', async () => {
    for (let i = 0; i < DEFAULT_THROTTLE.failures; i++) {
      expect((await attempt('alice', 'wrong password')).location).toMatch(/error=credentials$/);
    }
    const locked = await attempt('alice', PASSWORD);
    expect(locked.status).toBe(303);
    expect(locked.location).toMatch(/error=locked$/);
    expect(locked.page).toContain('Too many failed sign-ins for this username');

    t.advance(DEFAULT_THROTTLE.windowSeconds * 1000 + 1000);
    expect((await attempt('alice', PASSWORD)).location).toMatch(/^\/consent\?/);
  });

  it('locks unknown usernames the same way, so the lock reveals nothing', async () => {
    for (let i = 0; i < DEFAULT_THROTTLE.failures; i++) await attempt('nobody', 'wrong password');
    expect((await attempt('nobody', 'anything at all')).location).toMatch(/error=locked$/);
  });

  it('counts usernames without regard to case and leaves other people alone', async () => {
    for (let i = 0; i < DEFAULT_THROTTLE.failures; i++) await attempt(i % 2 ? 'ALICE' : 'alice', 'wrong password');
    expect((await attempt('alice', PASSWORD)).location).toMatch(/error=locked$/);
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

  it('starts counting afresh after a successful sign-in', async () => {
    for (let i = 0; i < DEFAULT_THROTTLE.failures - 1; i++) await attempt('alice', 'wrong password');
    expect((await attempt('alice', PASSWORD)).location).toMatch(/^\/consent\?/);
    for (let i = 0; i < DEFAULT_THROTTLE.failures - 1; i++) await attempt('alice', 'wrong password');
    expect((await attempt('alice', PASSWORD)).location).toMatch(/^\/consent\?/);
  });

  /** Opens `n` sign-ins first, then posts them all at once: a burst of parallel guesses. */
  async function burst(passwords: string[]) {
    const logins = [];
    for (let i = 0; i < passwords.length; i++)
      logins.push(await openLogin(t.app, { response_type: 'code', client_id: clientId }));
    const answers = await Promise.all(
      logins.map((login, i) =>
        postPage(
          t.app,
          '/login',
          { request: login.request, csrf: login.csrf, username: 'alice', password: passwords[i] },
          login.jar,
        ),
      ),
    );
    return answers.map((res) => String(res.headers.location));
  }

  it('counts each attempt before its password is checked: of a parallel burst only the limit is checked', async () => {
    const locations = await burst(Array.from({ length: 60 }, () => 'wrong password'));
    expect(locations.filter((l) => l.endsWith('error=credentials'))).toHaveLength(DEFAULT_THROTTLE.failures);
    expect(locations.filter((l) => l.endsWith('error=locked'))).toHaveLength(60 - DEFAULT_THROTTLE.failures);
    expect((await attempt('alice', PASSWORD)).location).toMatch(/error=locked$/);
  });
});
