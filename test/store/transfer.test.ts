/**
 * Export and import (src/store/transfer.ts) on the engine of this vitest project
 * (SQLite always, PostgreSQL when configured): a database filled through the real flows
 * is exported, imported into a fresh database, and the app built over the copy behaves
 * exactly like the original — tokens work, refresh tokens rotate, reuse is still detected,
 * a person half-way through sign-in carries on. Then every refusal.
 *
 * One PostgreSQL schema at a time: the source is closed before the target is opened.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Migrator, NO_MIGRATIONS, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import type { AppConfig } from '../../src/http/context.js';
import { hashSecret, newId, newSecret } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import {
  checkExport,
  countRows,
  exportDatabase,
  importDatabase,
  parseExport,
  serializeExport,
  TABLE_NAMES,
  tableColumns,
  TransferError,
  type ExportDocument,
} from '../../src/store/transfer.js';
import {
  addClient,
  addTestUser,
  basic,
  countSignInAttempt,
  codeThroughPages,
  getPage,
  hiddenValue,
  openLogin,
  PASSWORD,
  postPage,
  postToken,
  responseParams,
  tempStore,
  TEST_ENGINE,
  testApp,
} from '../helpers/harness.js';

const CB = 'https://app.example/cb';

/** What to close after each test, newest first. */
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function freshStore(): Promise<KyselyStore> {
  const t = await tempStore();
  closers.push(t.cleanup);
  return t.store;
}

/** The app over `store` with `config`, like testApp but over a store we bring. */
async function appOver(store: KyselyStore, config: AppConfig): Promise<FastifyInstance> {
  const app = await buildApp(config, store, { now: () => Date.now() });
  closers.push(() => app.close());
  return app;
}

/** Every row of every table, keyed by table: the database as data. */
async function snapshot(store: KyselyStore): Promise<ExportDocument['tables']> {
  return (await exportDatabase(store)).tables;
}

async function rowCount(store: KyselyStore): Promise<number> {
  return countRows(await exportDatabase(store)).rows;
}

async function expectRefusal(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransferError);
  expect((err as Error).message).toMatch(message);
  expect((err as Error).message).not.toContain('\n');
}

describe(`export and import on ${TEST_ENGINE}`, () => {
  it('schema.ts and the transfer list know every table and column the migrations create', async () => {
    const store = await freshStore();
    let tables = await store.db.introspection.getTables();
    if (TEST_ENGINE === 'postgres') {
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db);
      tables = tables.filter((t) => t.schema === rows[0]?.schema);
    }
    const created = Object.fromEntries(
      tables.map((t) => [t.name, Object.fromEntries(t.columns.map((c) => [c.name, c.dataType.toLowerCase()]))]),
    );
    expect(Object.keys(created).sort()).toEqual([...TABLE_NAMES].sort());
    for (const table of TABLE_NAMES) {
      const columns = tableColumns(table);
      expect(Object.keys(created[table] ?? {}).sort(), table).toEqual(Object.keys(columns).sort());
      for (const [column, kind] of Object.entries(columns)) {
        const type = created[table]?.[column] ?? '';
        expect(/int/.test(type), `${table}.${column} is ${type}`).toBe(kind === 'integer');
      }
    }
  });

  it('a copy behaves like the original: tokens, rotation, reuse detection, a sign-in under way', async () => {
    // The original, filled through the real pages and endpoints.
    const source = await testApp();
    closers.push(source.close);
    const { client, secret } = await addClient(source.store, { name: 'Reader', redirectUris: [CB] });
    const { client: publicClient } = await addClient(source.store, {
      name: 'Phone',
      redirectUris: [CB],
      public: true,
      pkce: 'optional',
    });
    await addTestUser(source.store, 'alice', ['PATIENT', 'CLINICIAN'], 'Alice Patel');
    await addTestUser(source.store, 'bob', ['PATIENT'], 'Bob Jones');
    await addTestUser(source.store, 'carol', ['TEAMCOORD'], 'Carol Disabled');
    await source.store.setPersonDisabled('carol', Date.now());
    await source.store.putSettingIfAbsent('cookie_secret', newSecret());
    await countSignInAttempt(source.store, 'mallory', Date.now(), 15 * 60_000);
    const auth = { authorization: basic(client.id, secret as string) };

    // alice: a code redeemed, then the refresh token rotated once (the first one is retired).
    const code1 = await codeThroughPages(source.app, {
      query: { response_type: 'code', client_id: client.id, scope: 'clinician' },
    });
    const first = (
      await postToken(source.app, { grant_type: 'authorization_code', code: code1 }, auth)
    ).json() as Record<string, string>;
    const rotated = await postToken(
      source.app,
      { grant_type: 'refresh_token', refresh_token: first.refresh_token as string },
      auth,
    );
    expect(rotated.statusCode).toBe(200);
    const second = rotated.json() as Record<string, string>;
    // bob: a code issued and not yet redeemed.
    const code2 = await codeThroughPages(source.app, {
      query: { response_type: 'code', client_id: client.id },
      username: 'bob',
    });
    // bob again, on a phone app: signed in, on the consent page, not yet decided.
    const midway = await openLogin(source.app, { response_type: 'code', client_id: publicClient.id, state: 'xyz' });
    const signedIn = await postPage(
      source.app,
      '/login',
      { request: midway.request, csrf: midway.csrf, username: 'bob', password: PASSWORD },
      midway.jar,
    );
    expect(signedIn.statusCode).toBe(303);
    const consentUrl = String(signedIn.headers.location);

    const doc = await exportDatabase(source.store);
    const before = await snapshot(source.store);
    const counts = countRows(doc);
    expect(counts.tables).toMatchObject({
      clients: 2,
      people: 3,
      grants: 2,
      authorization_codes: 2,
      access_tokens: 2,
      refresh_tokens: 2,
    });
    expect(counts.tables.pending_authorizations).toBe(1);
    expect(counts.tables.sign_in_sessions).toBeGreaterThanOrEqual(2);
    // One attempt is two counts: the username's and its address's.
    expect(counts.tables.sign_in_failures).toBe(2);
    expect(counts.tables.settings).toBe(1);
    // Times are numbers whatever the engine returned (pg gives bigint as a string).
    expect(typeof doc.tables.grants?.[0]?.expires_at).toBe('number');
    expect(typeof doc.tables.clients?.[0]?.pkce_required).toBe('number');
    // Hashes stay hashes: no token, code or secret appears in the export.
    const text = [...serializeExport(doc)].join('');
    for (const plain of [
      code1,
      code2,
      first.access_token,
      first.refresh_token,
      second.access_token,
      second.refresh_token,
      secret,
    ]) {
      expect(text).not.toContain(plain);
    }
    expect(text).toContain(hashSecret(second.access_token as string));

    await closers.pop()?.(); // the original is gone

    // The copy.
    const store = await freshStore();
    const summary = await importDatabase(store, await parseExport(text));
    expect(summary).toMatchObject({ migration: doc.migration, rows: counts.rows, tables: counts.tables, applied: [] });
    expect(await snapshot(store)).toEqual(before);
    const app = await appOver(store, source.config);

    // The access token issued before the export works.
    const me = await app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${second.access_token}` },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({
      username: 'alice',
      name: 'Alice Patel',
      scope: 'CLINICIAN',
      client_id: client.id,
    });

    // bob's code is redeemed once; a second time it is refused.
    const redeemed = await postToken(app, { grant_type: 'authorization_code', code: code2 }, auth);
    expect(redeemed.statusCode).toBe(200);
    expect(redeemed.json()).toMatchObject({ scope: 'PATIENT' });
    expect((await postToken(app, { grant_type: 'authorization_code', code: code2 }, auth)).statusCode).toBe(400);

    // alice's live refresh token rotates.
    const third = await postToken(
      app,
      { grant_type: 'refresh_token', refresh_token: second.refresh_token as string },
      auth,
    );
    expect(third.statusCode).toBe(200);
    const thirdBody = third.json() as Record<string, string>;
    expect(thirdBody.refresh_token).not.toBe(second.refresh_token);

    // The refresh token retired before the export is still recognised as reuse: the family is revoked.
    const reuse = await postToken(
      app,
      { grant_type: 'refresh_token', refresh_token: first.refresh_token as string },
      auth,
    );
    expect(reuse.statusCode).toBe(400);
    expect(reuse.json()).toMatchObject({ error: 'invalid_grant' });
    const after = await app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${thirdBody.access_token}` },
    });
    expect(after.statusCode).toBe(401);
    expect(
      (await postToken(app, { grant_type: 'refresh_token', refresh_token: thirdBody.refresh_token as string }, auth))
        .statusCode,
    ).toBe(400);

    // bob, signed in before the move, finds his consent page and finishes on the copy.
    const consent = await getPage(app, consentUrl, midway.jar);
    expect(consent.statusCode).toBe(200);
    expect(consent.body).toContain('Phone');
    const decided = await postPage(
      app,
      '/consent',
      { request: midway.request, csrf: hiddenValue(consent.body, 'csrf'), decision: 'allow' },
      midway.jar,
    );
    expect(decided.statusCode).toBe(303);
    const params = responseParams(String(decided.headers.location));
    expect(params.get('state')).toBe('xyz');
    const phoneToken = await postToken(app, {
      grant_type: 'authorization_code',
      client_id: publicClient.id,
      code: params.get('code') as string,
    });
    expect(phoneToken.statusCode).toBe(200);

    // carol is still disabled; alice still signs in with her password.
    expect((await store.getPersonByUsername('carol'))?.disabledAt).not.toBeNull();
    const again = await codeThroughPages(app, {
      query: { response_type: 'code', client_id: client.id, scope: 'patient' },
    });
    expect((await postToken(app, { grant_type: 'authorization_code', code: again }, auth)).statusCode).toBe(200);
  });

  it('an export read back from its text is the same document; a copy exports the same rows', async () => {
    const store = await freshStore();
    const { client } = await addClient(store, { name: 'Quote "Ünïcode" ✓ back\\slash </script>' });
    const person = await addTestUser(store, 'alice', ['PATIENT']);
    const now = Date.now();
    const grant = {
      id: newId(),
      personId: person.id,
      clientId: client.id,
      scope: 'PATIENT' as const,
      authTime: null,
      sessionId: null,
      createdAt: now,
      expiresAt: now + 1e9,
      revokedAt: null,
      nonce: null,
    };
    await store.createGrantWithAccessToken(grant, {
      hash: hashSecret(newSecret()),
      grantId: grant.id,
      scope: 'PATIENT',
      format: 'opaque',
      jti: null,
      createdAt: 0,
      expiresAt: now + 600_000,
    });
    // Enough rows to take several INSERT batches and several output chunks.
    const doc = await exportDatabase(store);
    const tokens = Array.from({ length: 2500 }, (_, i) => ({
      hash: hashSecret(`token-${i}`),
      grant_id: grant.id,
      scope: 'PATIENT',
      format: 'opaque',
      jti: null,
      created_at: now,
      expires_at: now + i,
    }));
    doc.tables.access_tokens = [...(doc.tables.access_tokens ?? []), ...tokens].sort((a, b) =>
      String(a.hash) < String(b.hash) ? -1 : 1,
    );
    const chunks = [...serializeExport(doc)];
    expect(chunks.length).toBeGreaterThan(1);
    expect(JSON.parse(chunks.join(''))).toEqual(doc);

    await closers.pop()?.();
    const copy = await freshStore();
    const summary = await importDatabase(copy, await parseExport(chunks.join('')));
    expect(summary.tables.access_tokens).toBe(2501);
    // The copy exports the very same rows, in the same order (by key, whatever the engine's collation).
    expect((await exportDatabase(copy)).tables).toEqual(doc.tables);
    expect((await copy.getClient(client.id))?.name).toBe('Quote "Ünïcode" ✓ back\\slash </script>');
  });

  it('refuses a target that is not empty, and changes nothing in it', async () => {
    const store = await freshStore();
    await addClient(store);
    const doc = await exportDatabase(store);
    const before = await snapshot(store);
    await expectRefusal(importDatabase(store, doc), /not empty \(it holds clients\)/);
    expect(await snapshot(store)).toEqual(before);

    // A person or a grant alone makes it non-empty too.
    await store.removeClient(before.clients?.[0]?.id as string);
    await addTestUser(store, 'alice', ['PATIENT']);
    await expectRefusal(importDatabase(store, doc), /not empty \(it holds people\)/);
  });

  it('replaces what an unused server leaves behind (settings, sign-in counters)', async () => {
    const store = await freshStore();
    await addClient(store);
    await store.putSettingIfAbsent('cookie_secret', 'the-original-secret-of-at-least-32-chars');
    const doc = await exportDatabase(store);
    await closers.pop()?.();

    const target = await freshStore();
    await target.putSettingIfAbsent('cookie_secret', 'a-secret-the-new-server-made-for-itself');
    await countSignInAttempt(target, 'someone', Date.now(), 60_000);
    await importDatabase(target, doc);
    expect(await target.getSetting('cookie_secret')).toBe('the-original-secret-of-at-least-32-chars');
    expect(await target.countSignInFailures('someone', Date.now(), 60_000)).toBe(0);
  });

  it('is all or nothing: a row that does not fit leaves the target empty, and a good import then succeeds', async () => {
    const store = await freshStore();
    await addClient(store);
    const person = await addTestUser(store, 'alice', ['PATIENT']);
    const good = await exportDatabase(store);
    await closers.pop()?.();

    const bad: ExportDocument = structuredClone(good);
    // A grant of a person who is not in the export: the foreign key refuses it, after
    // the clients and people went in.
    bad.tables.grants = [
      {
        id: 'g1',
        person_id: 'nobody',
        client_id: good.tables.clients?.[0]?.id as string,
        scope: 'PATIENT',
        created_at: 1,
        expires_at: 2,
        revoked_at: null,
      },
    ];
    const target = await freshStore();
    await expectRefusal(importDatabase(target, bad), /nothing was imported/);
    expect(await rowCount(target)).toBe(0);

    // A username twice: the unique index refuses the second.
    const twice: ExportDocument = structuredClone(good);
    twice.tables.people = [...(good.tables.people ?? []), { ...(good.tables.people?.[0] ?? {}), id: 'another-id' }];
    await expectRefusal(importDatabase(target, twice), /nothing was imported/);
    expect(await rowCount(target)).toBe(0);

    await importDatabase(target, good);
    expect((await target.getPersonByUsername('alice'))?.id).toBe(person.id);
  });

  it('refuses documents of another format, version or a newer migration, and malformed rows', async () => {
    const store = await freshStore();
    const doc = await exportDatabase(store);
    const cases: Array<[unknown, RegExp]> = [
      [null, /not a Tessera export/],
      [[], /not a Tessera export/],
      [{ ...doc, format: 'other' }, /not a Tessera export/],
      [{ ...doc, version: 2 }, /format version 2; this build of Tessera reads version 1/],
      [{ ...doc, version: '1' }, /format version "1"/],
      [
        { ...doc, migration: '9999_from_the_future' },
        /migration '9999_from_the_future', which this build of Tessera does not know/,
      ],
      [{ ...doc, migration: undefined }, /names no "migration"/],
      [{ ...doc, tables: [] }, /no "tables" object/],
      [{ ...doc, tables: { secrets: [] } }, /table this build does not know: 'secrets'/],
      [{ ...doc, tables: { clients: {} } }, /'clients' in the export is not a list/],
      [{ ...doc, tables: { clients: ['x'] } }, /table 'clients', row 1 is not an object/],
      [{ ...doc, tables: { clients: [{ id: 'a', colour: 'red' }] } }, /column this build does not know: 'colour'/],
      [
        { ...doc, tables: { clients: [{ id: 'a', created_at: '1700000000000' }] } },
        /'created_at' must be an integer or null/,
      ],
      [{ ...doc, tables: { clients: [{ id: 'a', created_at: 1.5 }] } }, /'created_at' must be an integer or null/],
      [{ ...doc, tables: { clients: [{ id: 7 }] } }, /'id' must be text or null/],
    ];
    for (const [value, message] of cases) {
      await expectRefusal(checkExport(value), message);
      await expectRefusal(importDatabase(store, value as ExportDocument), message);
    }
    await expectRefusal(parseExport(''), /the input is empty/);
    await expectRefusal(parseExport('{"format": "tessera-export",'), /the input is not JSON/);
    expect(await rowCount(store)).toBe(0);
  });

  it('brings an export from an older migration up to date, and refuses a target already past it', async () => {
    const store = await freshStore();
    await addClient(store, { name: 'Old App' });
    await addTestUser(store, 'alice', ['PATIENT']);
    const current = await exportDatabase(store);
    // The same rows as an export made at the first migration would hold them.
    const old: ExportDocument = { ...structuredClone(current), migration: '0001_initial' };
    // Tables that later migrations added.
    delete old.tables.sign_in_failures;
    delete old.tables.api_scopes;
    delete old.tables.signing_keys;

    // The store is migrated to the latest: it is past the export's migration.
    await store.removeClient(current.tables.clients?.[0]?.id as string);
    await store.removePerson('alice');
    await expectRefusal(importDatabase(store, old), /past the export's '0001_initial'.*not been migrated/);

    // Unmigrated (every migration undone), it takes the old export and then migrates.
    const { error } = await new Migrator({ db: store.db, provider: migrationProvider }).migrateTo(NO_MIGRATIONS);
    expect(error).toBeUndefined();
    const summary = await importDatabase(store, old);
    const known = Object.keys(await migrationProvider.getMigrations()).sort();
    expect(summary.applied).toEqual(known.slice(1));
    expect((await store.listClients()).map((c) => c.name)).toEqual(['Old App']);
    expect(await countSignInAttempt(store, 'alice', Date.now(), 60_000)).toBe(1);
    expect((await exportDatabase(store)).migration).toBe(known[known.length - 1]);
  });

  it('takes a consistent snapshot while writes go on', async () => {
    const store = await freshStore();
    const { client } = await addClient(store);
    const person = await addTestUser(store, 'alice', ['PATIENT']);
    const now = Date.now();
    // Grants with their codes are written in one transaction each, while exports run:
    // every export must hold, for each grant, its code (and no code without its grant).
    const writing = (async () => {
      for (let i = 0; i < 60; i++) {
        const grant = {
          id: newId(),
          personId: person.id,
          clientId: client.id,
          scope: 'PATIENT' as const,
          authTime: null,
          sessionId: null,
          createdAt: now,
          expiresAt: now + 1e6,
          revokedAt: null,
          nonce: null,
        };
        await store.createGrantWithCode(grant, {
          hash: hashSecret(randomBytes(16).toString('hex')),
          grantId: grant.id,
          redirectUri: null,
          codeChallenge: null,
          expiresAt: now + 60_000,
          consumedAt: null,
        });
      }
    })();
    const exports = await Promise.all(Array.from({ length: 12 }, () => exportDatabase(store)));
    await writing;
    for (const doc of exports) {
      const grants = new Set((doc.tables.grants ?? []).map((g) => g.id));
      const codeGrants = new Set((doc.tables.authorization_codes ?? []).map((c) => c.grant_id));
      expect(codeGrants).toEqual(grants);
    }
    expect(countRows(await exportDatabase(store)).tables.grants).toBe(60);
  });
});
