/**
 * What the one-server scripts (profile.mjs, capacity.mjs) share: their `--name value`
 * options, and the bench client and person they seed (through the same seeder as the bench).
 */

/** The value after `--name` on the command line, or `fallback`. */
export function option(name, fallback) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
}

/** One client and one person: these scripts drive the token and resource flows, not sign-in. */
export const singleServerShared = {
  clientId: 'bench-client',
  clientSecret: 'unused-for-tessera',
  redirectUri: 'http://127.0.0.1:9999/cb',
  users: ['bench-user-0'],
  password: 'bench password 1234',
};
