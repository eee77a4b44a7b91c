/** Settings: values the instances share (the cookie secret when none is configured). */
import { changes, first } from '../executor.js';
import { statement } from '../prepared.js';
import type { Store } from '../store.js';
import type { StoreContext } from './rows.js';

export type Settings = Pick<Store, 'getSetting' | 'putSettingIfAbsent'>;

export function settings({ db, exec }: StoreContext): Settings {
  const settingOf = (key: string) => first(statement(db.selectFrom('settings').select('value').where('key', '=', key)));

  return {
    async getSetting(key) {
      return (await exec.read(() => settingOf(key)))?.value;
    },

    putSettingIfAbsent(key, value) {
      // The first instance to store one wins; every instance then uses the value stored.
      return exec.write(function* () {
        yield* changes(
          statement(
            db
              .insertInto('settings')
              .values({ key, value })
              .onConflict((oc) => oc.column('key').doNothing()),
          ),
        );
        return (yield* settingOf(key))?.value ?? value;
      });
    },
  };
}
