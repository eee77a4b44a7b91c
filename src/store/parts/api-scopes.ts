/** API scopes: scope values registered server-wide, each with the words the consent page shows. */
import { changes, rows } from '../executor.js';
import { statement } from '../prepared.js';
import type { ApiScopeRecord, Store } from '../store.js';
import { time, type StoreContext } from './rows.js';

export type ApiScopes = Pick<Store, 'createApiScope' | 'listApiScopes' | 'removeApiScope'>;

export function apiScopes({ db, exec }: StoreContext): ApiScopes {
  return {
    createApiScope(scope: ApiScopeRecord) {
      return exec.write(function* () {
        const n = yield* changes(
          statement(
            db
              .insertInto('api_scopes')
              .values({ name: scope.name, description: scope.description, created_at: scope.createdAt })
              .onConflict((oc) => oc.column('name').doNothing()),
          ),
        );
        return n > 0;
      });
    },

    async listApiScopes() {
      const list = await exec.read(() => rows(statement(db.selectFrom('api_scopes').selectAll().orderBy('name'))));
      return list.map((row) => ({ name: row.name, description: row.description, createdAt: time(row.created_at) }));
    },

    async removeApiScope(name) {
      const n = await exec.write(() => changes(statement(db.deleteFrom('api_scopes').where('name', '=', name))));
      return n > 0;
    },
  };
}
