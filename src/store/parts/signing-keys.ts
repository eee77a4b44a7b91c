/**
 * Signing keys (RFC 7517 JWKs): at most one active (not retired) key per algorithm, held
 * by a unique index (migration 0007). The first key and the keys made on demand for ID
 * tokens are conditional inserts, so of instances racing one wins; a rotation retires
 * every active key and adds the next in one transaction.
 */
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import { changes, rows } from '../executor.js';
import { statement } from '../prepared.js';
import type { Database, SigningKeysTable } from '../schema.js';
import type { SigningKeyRecord, Store } from '../store.js';
import { maybeTime, time, type StoreContext } from './rows.js';

export type SigningKeys = Pick<
  Store,
  'listSigningKeys' | 'addFirstSigningKey' | 'addSigningKeyForAlg' | 'rotateSigningKey' | 'removeRetiredSigningKeys'
>;

/** When a conditional insert of a key goes ahead. */
type KeyCondition = (eb: ExpressionBuilder<Database, never>) => Expression<SqlBool>;

function keyRow(k: SigningKeyRecord): SigningKeysTable {
  return {
    kid: k.kid,
    alg: k.alg,
    public_jwk: k.publicJwk,
    private_key: k.privateKey,
    created_at: k.createdAt,
    retired_at: k.retiredAt,
  };
}

export function signingKeys({ db, exec }: StoreContext): SigningKeys {
  /** One conditional insert of `key` as an active key, when `condition` holds; true when stored. */
  function insertKeyWhere(key: SigningKeyRecord, condition: KeyCondition): Promise<boolean> {
    const row = keyRow({ ...key, retiredAt: null });
    return exec.write(function* () {
      const n = yield* changes(
        statement(
          db
            .insertInto('signing_keys')
            .columns(['kid', 'alg', 'public_jwk', 'private_key', 'created_at', 'retired_at'])
            .expression(
              db
                .selectNoFrom([
                  sql<string>`${row.kid}`.as('kid'),
                  sql<string>`${row.alg}`.as('alg'),
                  sql<string>`${row.public_jwk}`.as('public_jwk'),
                  sql<string>`${row.private_key}`.as('private_key'),
                  sql<number>`${row.created_at}`.as('created_at'),
                  sql<null>`null`.as('retired_at'),
                ])
                .where(condition),
            )
            // Racing inserts that all passed the condition (PostgreSQL's READ COMMITTED)
            // meet the unique index over active keys per algorithm: one stays.
            .onConflict((oc) => oc.doNothing()),
        ),
      );
      return n > 0;
    });
  }

  return {
    async listSigningKeys() {
      const list = await exec.read(() =>
        rows(statement(db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').orderBy('kid', 'desc'))),
      );
      return list.map((row) => ({
        kid: row.kid,
        alg: row.alg,
        publicJwk: row.public_jwk,
        privateKey: row.private_key,
        createdAt: time(row.created_at),
        retiredAt: maybeTime(row.retired_at),
      }));
    },

    addFirstSigningKey(key) {
      // No key active at all: of instances starting at once, exactly one adds the key.
      return insertKeyWhere(key, ({ not, exists, selectFrom }) =>
        not(exists(selectFrom('signing_keys').select('kid').where('retired_at', 'is', null))),
      );
    },

    addSigningKeyForAlg(key) {
      return insertKeyWhere(key, ({ and, not, exists, selectFrom }) =>
        and([
          not(
            exists(selectFrom('signing_keys').select('kid').where('retired_at', 'is', null).where('alg', '=', key.alg)),
          ),
          // An older active key (the access-token key) is there: one made by a rotation
          // after this key was generated would otherwise become the newer of the two.
          exists(
            selectFrom('signing_keys')
              .select('kid')
              .where('retired_at', 'is', null)
              .where('created_at', '<', key.createdAt),
          ),
        ]),
      );
    },

    async rotateSigningKey(key) {
      await exec.transaction(function* () {
        yield* changes(
          statement(db.updateTable('signing_keys').set({ retired_at: key.createdAt }).where('retired_at', 'is', null)),
        );
        yield* changes(statement(db.insertInto('signing_keys').values(keyRow({ ...key, retiredAt: null }))));
      });
    },

    removeRetiredSigningKeys(retiredBefore) {
      return exec.write(() =>
        changes(
          statement(
            db.deleteFrom('signing_keys').where('retired_at', 'is not', null).where('retired_at', '<=', retiredBefore),
          ),
        ),
      );
    },
  };
}
