/**
 * Statements asked in one event-loop turn are sent as one (turn-batch.ts), and that changes
 * nothing a caller can see: each gets its own row (or none), a failure reaches only the
 * requests it concerns, and a write committed before a lookup is asked is seen by it. On
 * PostgreSQL the store's access-token lookup — every API call, introspection, revocation,
 * userinfo — goes through it: these tests fail the day it stops sharing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret, newId, newSecret } from '../../src/oauth/tokens.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open.js';
import type { GrantRecord } from '../../src/store/store.js';
import { TurnBatch } from '../../src/store/turn-batch.js';
import { addClient, addUser, tempPostgresUrl, TEST_ENGINE } from '../helpers/harness.js';

interface Row {
  key: string;
  value: number;
}

/** A batch of lookups over a table in memory, recording the keys of every statement. */
function recorded(table: Map<string, number>, maxItems?: number) {
  const statements: string[][] = [];
  let failure: ((keys: string[]) => Error | undefined) | undefined;
  const batch = new TurnBatch<string, Row>(
    async (keys) => {
      statements.push(keys);
      await new Promise((r) => setTimeout(r, 5));
      const error = failure?.(keys);
      if (error) throw error;
      return keys.filter((k) => table.has(k)).map((key) => ({ key, value: table.get(key)! }));
    },
    (key) => key,
    (row) => row.key,
    maxItems,
  );
  return {
    batch,
    statements,
    failWhen: (f: typeof failure) => {
      failure = f;
    },
  };
}

describe('TurnBatch', () => {
  const table = new Map([
    ['a', 1],
    ['b', 2],
    ['c', 3],
  ]);

  it('answers the requests of one turn with one statement, each from its own row', async () => {
    const { batch, statements } = recorded(table);
    const answers = await Promise.all(['a', 'b', 'missing', 'a', 'c'].map((k) => batch.get(k)));
    expect(answers).toEqual([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
      undefined,
      { key: 'a', value: 1 },
      { key: 'c', value: 3 },
    ]);
    // Distinct keys, in the order they were asked.
    expect(statements).toEqual([['a', 'b', 'missing', 'c']]);
  });

  it('sends a request asked while a statement is in flight with the next statement', async () => {
    const { batch, statements } = recorded(table);
    const first = batch.get('a');
    await new Promise((r) => setImmediate(r));
    expect(statements).toEqual([['a']]);
    const second = batch.get('b');
    expect(await Promise.all([first, second])).toEqual([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ]);
    expect(statements).toEqual([['a'], ['b']]);
  });

  it('splits a turn with more requests than a statement takes', async () => {
    const many = new Map(Array.from({ length: 25 }, (_, i) => [`k${i}`, i] as const));
    const { batch, statements } = recorded(many, 10);
    const answers = await Promise.all([...many.keys()].map((k) => batch.get(k)));
    expect(answers.map((a) => a?.value)).toEqual([...many.values()]);
    expect(statements.map((q) => q.length)).toEqual([10, 10, 5]);
  });

  it('sends each item of a failed statement again alone: a failure fails only its own requests', async () => {
    const { batch, statements, failWhen } = recorded(table);
    failWhen((keys) => (keys.includes('c') ? new Error('deadlock detected') : undefined));
    const settled = await Promise.allSettled([batch.get('a'), batch.get('c'), batch.get('b'), batch.get('c')]);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value?.value : 'failed'))).toEqual([
      1,
      'failed',
      2,
      'failed',
    ]);
    expect((settled[1] as PromiseRejectedResult).reason).toEqual(new Error('deadlock detected'));
    expect(statements).toEqual([['a', 'c', 'b'], ['a'], ['c'], ['b']]);
  });

  it('fails every request of the statement when the database is out of reach, sending none again', async () => {
    const { batch, statements, failWhen } = recorded(table);
    const down = new StoreUnavailableError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    failWhen(() => down);
    const settled = await Promise.allSettled([batch.get('a'), batch.get('b'), batch.get('a')]);
    expect(settled).toEqual([
      { status: 'rejected', reason: down },
      { status: 'rejected', reason: down },
      { status: 'rejected', reason: down },
    ]);
    expect(statements).toEqual([['a', 'b']]);
    failWhen(undefined);
    expect(await batch.get('b')).toEqual({ key: 'b', value: 2 });
  });
});

describe.skipIf(TEST_ENGINE !== 'postgres')('access-token lookups on PostgreSQL', () => {
  let store: KyselyStore;
  let drop: () => Promise<void>;
  let clientId: string;
  let personId: string;
  const now = Date.now();

  beforeEach(async () => {
    const temp = await tempPostgresUrl();
    drop = temp.drop;
    store = await openStore(temp.url, { poolSize: 4 });
    clientId = (await addClient(store)).client.id;
    personId = (await addUser(store, 'alice', ['PATIENT'])).id;
  });
  afterEach(async () => {
    await store.close();
    await drop();
  });

  async function issue(scope: string): Promise<{ hash: string; grantId: string }> {
    const grant: GrantRecord = {
      id: newId(),
      personId,
      clientId,
      scope,
      authTime: null,
      sessionId: null,
      createdAt: now,
      expiresAt: now + 3_600_000,
      revokedAt: null,
      nonce: null,
    };
    const hash = hashSecret(newSecret());
    await store.createGrantWithAccessToken(grant, {
      hash,
      grantId: grant.id,
      scope,
      format: 'opaque',
      jti: null,
      createdAt: now,
      expiresAt: now + 600_000,
    });
    return { hash, grantId: grant.id };
  }

  it('answers the lookups of one turn with one query, each as if it were alone', async () => {
    const issued = await Promise.all(['PATIENT', 'CLINICIAN', 'TEAMCOORD'].map(issue));
    const alone = [];
    for (const { hash } of issued) alone.push(await store.findAccessToken(hash));
    expect(alone.map((found) => found?.token.scope)).toEqual(['PATIENT', 'CLINICIAN', 'TEAMCOORD']);

    store.poolWaits?.take();
    const asked = [...issued.map((t) => t.hash), hashSecret(newSecret()), issued[0]!.hash];
    const together = await Promise.all(asked.map((hash) => store.findAccessToken(hash)));
    expect(together).toEqual([...alone, undefined, alone[0]]);
    // One connection taken: one query for all five.
    expect(store.poolWaits?.take()?.acquired).toBe(1);
  });

  it('sees a revocation committed before the lookup was asked, even among others', async () => {
    const [kept, revoked] = await Promise.all([issue('PATIENT'), issue('PATIENT')]);
    expect((await store.findAccessToken(revoked!.hash))?.grant.revokedAt).toBeNull();
    expect(await store.revokeGrant(revoked!.grantId, now + 1)).toBe(true);
    const [a, b] = await Promise.all([store.findAccessToken(kept!.hash), store.findAccessToken(revoked!.hash)]);
    expect(a?.grant.revokedAt).toBeNull();
    expect(b?.grant.revokedAt).toBe(now + 1);
  });

  it('answers a burst of 250 concurrent lookups, each with its own token', async () => {
    const issued = await Promise.all(Array.from({ length: 50 }, (_, i) => issue(i % 2 ? 'PATIENT' : 'CLINICIAN')));
    const asked = Array.from({ length: 250 }, (_, i) => issued[(i * 7) % 50]!);
    const found = await Promise.all(asked.map(({ hash }) => store.findAccessToken(hash)));
    found.forEach((f, i) => {
      expect(f?.token.hash).toBe(asked[i]!.hash);
      expect(f?.grant.id).toBe(asked[i]!.grantId);
    });
  });
});
