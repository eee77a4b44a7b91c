/**
 * Single use under contention (RFC 6749 §4.1.2, RFC 9700 §4.14.2), on a real listening port: of 20
 * simultaneous redemptions of one code exactly one wins, and of 20 simultaneous uses of
 * one refresh token exactly one wins (the store's conditional update, not luck); of 20
 * simultaneous replays of a retired refresh token, every one is refused and the grant is
 * revoked once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addClient, addTestUser, basic, codeThroughPages, form, testApp, type TestApp } from '../helpers/harness.js';

const CB = 'https://app.example/cb';
const RACERS = 20;

let t: TestApp;
let base: string;
let auth: string;
let clientId: string;
let logs: Array<Record<string, unknown>>;

beforeEach(async () => {
  logs = [];
  const { pino } = await import('pino');
  const logger = pino(
    { level: 'info', base: undefined },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  t = await testApp({ logger });
  const { client, secret } = await addClient(t.store, { redirectUris: [CB] });
  clientId = client.id;
  auth = basic(client.id, secret as string);
  await addTestUser(t.store, 'alice', ['PATIENT']);
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
});

afterEach(async () => {
  await t.close();
});

interface Outcome {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function tokenRequest(body: Record<string, string>): Promise<Outcome> {
  const res = await fetch(`${base}/apiToken.action`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: form(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

/** Fires all requests at once (after they are all built) and waits for every answer. */
async function race(body: Record<string, string>): Promise<Outcome[]> {
  return Promise.all(Array.from({ length: RACERS }, () => tokenRequest(body)));
}

function expectOneWinner(outcomes: Outcome[]): Outcome {
  const winners = outcomes.filter((o) => o.status === 200);
  const losers = outcomes.filter((o) => o.status !== 200);
  expect(winners).toHaveLength(1);
  expect(losers).toHaveLength(RACERS - 1);
  for (const loser of losers) {
    expect(loser.status).toBe(400);
    expect(loser.body.error).toBe('invalid_grant');
    expect(loser.headers.get('cache-control')).toBe('no-store');
  }
  const winner = winners[0] as Outcome;
  expect(winner.body.access_token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
  expect(winner.headers.get('content-type')).toBe('application/json;charset=UTF-8');
  return winner;
}

describe('races on a real port', () => {
  it(`${RACERS} simultaneous redemptions of one code: exactly one 200, the rest invalid_grant`, async () => {
    const code = await codeThroughPages(t.app, {
      query: { response_type: 'code', client_id: clientId, scope: 'PATIENT' },
    });
    const outcomes = await race({ grant_type: 'authorization_code', code });
    expectOneWinner(outcomes);
    // And it stays used.
    const late = await tokenRequest({ grant_type: 'authorization_code', code });
    expect(late.status).toBe(400);
    expect(late.body.error).toBe('invalid_grant');
  });

  it(`${RACERS} simultaneous uses of one refresh token: exactly one 200, the rest invalid_grant`, async () => {
    const code = await codeThroughPages(t.app, {
      query: { response_type: 'code', client_id: clientId, scope: 'PATIENT' },
    });
    const first = await tokenRequest({ grant_type: 'authorization_code', code });
    expect(first.status).toBe(200);
    const refreshToken = first.body.refresh_token as string;
    expect(refreshToken).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    const outcomes = await race({ grant_type: 'refresh_token', refresh_token: refreshToken });
    const winner = expectOneWinner(outcomes);
    expect(winner.body.refresh_token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    expect(winner.body.refresh_token).not.toBe(refreshToken);
    // The retired token stays retired.
    const late = await tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken });
    expect(late.status).toBe(400);
    expect(late.body.error).toBe('invalid_grant');
  });

  it(`${RACERS} simultaneous replays of a retired refresh token: all refused, the grant revoked once`, async () => {
    const code = await codeThroughPages(t.app, {
      query: { response_type: 'code', client_id: clientId, scope: 'PATIENT' },
    });
    const first = await tokenRequest({ grant_type: 'authorization_code', code });
    const retired = first.body.refresh_token as string;
    const rotated = await tokenRequest({ grant_type: 'refresh_token', refresh_token: retired });
    expect(rotated.status).toBe(200);

    const outcomes = await race({ grant_type: 'refresh_token', refresh_token: retired });
    for (const o of outcomes) {
      expect(o.status).toBe(400);
      expect(o.body.error).toBe('invalid_grant');
    }
    const events = (name: string) => logs.filter((line) => line.event === name);
    expect(events('refresh_reuse_detected')).toHaveLength(RACERS);
    expect(events('grant_revoked')).toEqual([expect.objectContaining({ reason: 'refresh_reuse_detected' })]);
    // The whole family ended: the successor issued before the replays no longer works.
    const successor = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: rotated.body.refresh_token as string,
    });
    expect(successor.status).toBe(400);
    expect(successor.body.error).toBe('invalid_grant');
    const me = await fetch(`${base}/api/v1/me`, {
      headers: { authorization: `Bearer ${rotated.body.access_token as string}` },
    });
    expect(me.status).toBe(401);
  });
});
