/**
 * `tessera keys list|rotate` and what `serve` does with signing keys: the first key at
 * start, the note when private keys are stored unsealed, one line and exit 2 when a key
 * cannot be unsealed — and, with TESSERA_SECRET, a database file that holds no private
 * key material in the clear.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { keySealer } from '../../src/oauth/key-seal.js';
import { openStore } from '../../src/store/open.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import { migratedDb } from '../helpers/migrated-db.js';
import { runCli, startServer, tempDb, type ServerProcess } from '../helpers/server-process.js';

const SECRET = 'k'.repeat(40);
const NO_SECRET = { TESSERA_SECRET: undefined };
const WITH_SECRET = { TESSERA_SECRET: SECRET };
const NOTE = /TESSERA_SECRET is not set.*copy of the database holds usable signing keys/;

let server: ServerProcess | undefined;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  await server?.stop();
  server = undefined;
  for (const c of cleanups.splice(0)) c();
});

/** A fresh, migrated, empty database (commands other than migrate refuse one that is not there). */
function temp() {
  const t = tempDb();
  cleanups.push(t.cleanup);
  migratedDb(t.db.slice('sqlite:'.length));
  return t;
}

async function cli(args: string[], db: string, env: NodeJS.ProcessEnv = WITH_SECRET) {
  return runCliInProcess(args, { db, env });
}

interface KeyJson {
  kid: string;
  alg: string;
  state: string;
  created: string;
  sealed: boolean;
}

describe('tessera keys', () => {
  it('rotate makes the first key, then the next; list shows the active key first and the previous one', async () => {
    const { db } = temp();
    expect(JSON.parse((await cli(['keys', 'list', '--json'], db)).stdout)).toEqual([]);
    const first = await cli(['keys', 'rotate', '--json'], db);
    expect(first.status).toBe(0);
    expect(first.stderr).toBe('');
    const one = JSON.parse(first.stdout) as KeyJson;
    expect(one).toMatchObject({ alg: 'ES256', state: 'active', sealed: true });
    expect(new Date(one.created).getTime()).toBeGreaterThan(Date.now() - 60_000);
    const two = JSON.parse((await cli(['keys', 'rotate', '--alg', 'RS256', '--json'], db)).stdout) as KeyJson;
    expect(two).toMatchObject({ alg: 'RS256', state: 'active' });
    const three = JSON.parse((await cli(['keys', 'rotate', '--alg', 'EdDSA', '--json'], db)).stdout) as KeyJson;
    const listed = JSON.parse((await cli(['keys', 'list', '--json'], db)).stdout) as KeyJson[];
    expect(listed.map((k) => [k.kid, k.alg, k.state])).toEqual([
      [three.kid, 'EdDSA', 'active'],
      [two.kid, 'RS256', 'previous'],
      [one.kid, 'ES256', 'previous'],
    ]);
    const table = await cli(['keys', 'list'], db);
    expect(table.stdout.split('\n')[0]).toMatch(/^KID\s+ALG\s+STATE\s+CREATED/);
    expect(table.stdout).toContain(`${three.kid}  EdDSA  active`);
    const text = await cli(['keys', 'rotate'], db);
    expect(text.stdout).toMatch(/^new signing key \S+\n/);
  });

  it('refuses an algorithm it does not have with one line and exit 2, storing nothing', async () => {
    const { db } = temp();
    for (const alg of ['HS256', 'none', 'es256']) {
      const result = await cli(['keys', 'rotate', '--alg', alg], db);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^tessera: alg must be one of ES256, RS256, EdDSA, not '.*'\n$/);
    }
    expect(JSON.parse((await cli(['keys', 'list', '--json'], db)).stdout)).toEqual([]);
  });

  it('without TESSERA_SECRET says once on stderr that the database holds usable keys; a short secret is exit 2', async () => {
    const { db } = temp();
    const rotated = await cli(['keys', 'rotate', '--json'], db, NO_SECRET);
    expect(rotated.status).toBe(0);
    expect(JSON.parse(rotated.stdout)).toMatchObject({ sealed: false });
    const listed = await cli(['keys', 'list', '--json'], db, NO_SECRET);
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout)).toHaveLength(1);
    expect(listed.stderr.trim().split('\n')).toHaveLength(1);
    expect(listed.stderr).toMatch(NOTE);
    expect((await cli(['keys', 'list'], db, WITH_SECRET)).stderr).toBe('');

    const short = await cli(['keys', 'list'], db, { TESSERA_SECRET: 'too short' });
    expect(short.status).toBe(2);
    expect(short.stderr).toBe('tessera: TESSERA_SECRET must be at least 32 characters\n');
  });

  it('with TESSERA_SECRET the database file holds no private key part in the clear (without it, it does)', async () => {
    /** The private members of every stored key, unsealed with the secret they were sealed with. */
    async function privateParts(db: string, secret: string | undefined): Promise<string[]> {
      const store = await openStore(db);
      try {
        const keys = await store.listSigningKeys();
        expect(keys).toHaveLength(3);
        return keys.flatMap((k) => {
          const jwk = JSON.parse(keySealer(secret).open(k.kid, k.privateKey)) as Record<string, string>;
          return ['d', 'p', 'q', 'dp', 'dq', 'qi'].flatMap((m) => (jwk[m] === undefined ? [] : [jwk[m]]));
        });
      } finally {
        await store.close();
      }
    }
    /** The database as bytes: the file and what is still in its WAL (the store checkpoints when it closes). */
    function bytes(dir: string): string {
      const file = `${dir}/tessera.db`;
      return [file, `${file}-wal`]
        .filter((f) => existsSync(f))
        .map((f) => readFileSync(f).toString('latin1'))
        .join('');
    }
    for (const [env, secret] of [
      [WITH_SECRET, SECRET],
      [NO_SECRET, undefined],
    ] as const) {
      const { db, dir } = temp();
      for (const alg of ['ES256', 'RS256', 'EdDSA']) {
        expect((await cli(['keys', 'rotate', '--alg', alg], db, env)).status).toBe(0);
      }
      const parts = await privateParts(db, secret);
      expect(parts.length).toBe(8); // d of each key, and p, q, dp, dq, qi of the RSA key
      const stored = bytes(dir);
      expect(stored).toContain('"kty"'); // the public keys are there, readable
      for (const part of parts) {
        if (secret !== undefined) expect(stored).not.toContain(part);
        else expect(stored).toContain(part);
      }
    }
  });
});

describe('tessera serve and signing keys', () => {
  it('makes the first key at start, says once that it is unsealed, and publishes it', async () => {
    server = await startServer({ env: NO_SECRET });
    expect(server.stderr().match(new RegExp(NOTE.source, 'g'))).toHaveLength(1);
    const keys = JSON.parse((await cli(['keys', 'list', '--json'], server.db, NO_SECRET)).stdout) as KeyJson[];
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ alg: 'ES256', state: 'active', sealed: false });
    const jwks = (await (await fetch(`${server.baseUrl}/.well-known/jwks.json`)).json()) as { keys: KeyJson[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([keys[0]?.kid]);
    const meta = (await (await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(meta.jwks_uri).toBe(`${server.baseUrl}/.well-known/jwks.json`);
  });

  it('makes the ID token keys of the OpenID clients at start and at every rotation, before any ID token', async () => {
    const { db } = temp();
    const add = (name: string, ...extra: string[]) =>
      cli(['client', 'add', '--name', name, '--redirect-uri', 'https://app.example/cb', ...extra], db);
    expect((await add('Plain')).status).toBe(0);
    expect((await add('Sign-in', '--scope', 'openid')).status).toBe(0);
    expect((await add('Sign-in EdDSA', '--scope', 'openid', '--id-token-alg', 'EdDSA')).status).toBe(0);
    // A client not enabled for openid needs no ID token key: ES256 here is only the signing key.
    expect((await add('Plain ES256', '--id-token-alg', 'ES256')).status).toBe(0);

    const running = await startServer({ db, env: WITH_SECRET });
    server = running;
    const published = async () =>
      ((await (await fetch(`${running.baseUrl}/.well-known/jwks.json`)).json()) as { keys: KeyJson[] }).keys
        .map((k) => k.alg)
        .sort();
    const active = async () =>
      (JSON.parse((await cli(['keys', 'list', '--json'], db)).stdout) as KeyJson[])
        .filter((k) => k.state === 'active')
        .map((k) => k.alg)
        .sort();
    expect(await active()).toEqual(['ES256', 'EdDSA', 'RS256']);
    expect(await published()).toEqual(['ES256', 'EdDSA', 'RS256']);

    const rotated = JSON.parse((await cli(['keys', 'rotate', '--alg', 'RS256', '--json'], db)).stdout) as KeyJson;
    expect(rotated).toMatchObject({ alg: 'RS256', state: 'active' });
    // The new signing key (RS256, which the first client's ID tokens use too) and a new EdDSA key.
    expect(await active()).toEqual(['EdDSA', 'RS256']);
    const keys = JSON.parse((await cli(['keys', 'list', '--json'], db)).stdout) as KeyJson[];
    expect(
      keys
        .filter((k) => k.state === 'previous')
        .map((k) => k.alg)
        .sort(),
    ).toEqual(['ES256', 'EdDSA', 'RS256']);
    expect(await published()).toEqual(['ES256', 'EdDSA', 'EdDSA', 'RS256', 'RS256']);
  });

  it('with TESSERA_SECRET makes a sealed first key and says nothing about it', async () => {
    server = await startServer({ env: WITH_SECRET });
    expect(server.stderr()).not.toMatch(/TESSERA_SECRET/);
    const keys = JSON.parse((await cli(['keys', 'list', '--json'], server.db)).stdout) as KeyJson[];
    expect(keys).toMatchObject([{ state: 'active', sealed: true }]);
  });

  it('a sealed signing key with no secret or another secret: one line, exit 2', async () => {
    const { db } = temp();
    expect((await cli(['keys', 'rotate'], db)).status).toBe(0);
    for (const [env, message] of [
      [NO_SECRET, /^tessera: signing key \S+ is sealed with TESSERA_SECRET, which is not set$/],
      [
        { TESSERA_SECRET: 'x'.repeat(40) },
        /^tessera: signing key \S+ cannot be unsealed: TESSERA_SECRET is not the secret/,
      ],
    ] as const) {
      const result = runCli(['serve', '--port', '0'], { db, env: env as NodeJS.ProcessEnv });
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
  });

  it.each([['ftp://api.example'], ['api.example'], ['https://api.example/#x']])(
    'refuses --audience %s with one line and exit 2',
    async (audience) => {
      const { db } = temp();
      for (const result of [
        await cli(['serve', '--port', '0', '--audience', audience], db),
        await cli(['serve', '--port', '0'], db, { ...WITH_SECRET, TESSERA_AUDIENCE: audience }),
      ]) {
        expect(result.status).toBe(2);
        expect(result.stderr).toMatch(/^tessera: audience must /);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
      }
    },
  );

  it('refuses a TESSERA_KEY_REFRESH_SECONDS outside 1-60 with one line and exit 2', async () => {
    const { db } = temp();
    for (const value of ['0', '61', 'often']) {
      const result = await cli(['serve', '--port', '0'], db, { ...WITH_SECRET, TESSERA_KEY_REFRESH_SECONDS: value });
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(
        /^tessera: TESSERA_KEY_REFRESH_SECONDS must be a whole number of seconds from 1 to 60/,
      );
    }
  });
});
