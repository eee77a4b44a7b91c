/**
 * The browser-binding cookie ties a pending authorization to the browser that started it.
 * A browser keeps its cookie across authorization requests, so two sign-ins started in
 * two tabs of one browser can both be completed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BROWSER_COOKIE } from '../../src/http/browser.js';
import { addClient, addTestUser, openLogin, PASSWORD, postPage, testApp, type TestApp } from '../helpers/harness.js';

describe('the browser-binding cookie', () => {
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

  it('is set once and kept by later authorization requests of the same browser', async () => {
    const first = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    const value = first.jar.get(BROWSER_COOKIE);
    expect(value).toBeDefined();
    const second = await openLogin(t.app, { response_type: 'code', client_id: clientId }, first.jar);
    expect(second.start.headers['set-cookie']).toBeUndefined();
    expect(second.jar.get(BROWSER_COOKIE)).toBe(value);
  });

  it('lets the sign-in started first finish after a second one was started in another tab', async () => {
    const first = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    const second = await openLogin(t.app, { response_type: 'code', client_id: clientId }, first.jar);
    for (const login of [first, second]) {
      const res = await postPage(
        t.app,
        '/login',
        { request: login.request, csrf: login.csrf, username: 'alice', password: PASSWORD },
        first.jar,
      );
      expect(res.statusCode).toBe(303);
      expect(String(res.headers.location)).toBe(`/consent?request=${encodeURIComponent(login.request)}`);
    }
  });
});
