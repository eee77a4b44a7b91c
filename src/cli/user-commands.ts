/**
 * `tessera user add|list|show|update|remove|set-password|disable|enable|unlock`: manage the
 * people who sign in. Never prints a password or a password hash.
 */
import type { Command } from 'commander';
import {
  addPerson,
  checkPassword,
  describePerson,
  describeSignInState,
  getPersonWithSignIn,
  listPeople,
  removePerson,
  setPassword as setPersonPassword,
  setPersonDisabled,
  signInStateJson,
  unlockSignIn,
  updatePerson,
} from '../services/people.js';
import type { PersonRecord } from '../store/store.js';
import {
  addPasswordOptions,
  collectList,
  dbOption,
  formatFields,
  jsonOption,
  printJson,
  printList,
  printLines,
  readPassword,
  requireSubcommand,
  withStore,
  type CliIo,
  type PasswordOptions,
} from './common.js';
import { recordChange } from './audit-log.js';

interface DbOptions {
  db: string;
  json?: boolean;
}

interface AddOptions extends DbOptions, PasswordOptions {
  username: string;
  role?: string[];
  name?: string;
  email?: string;
}

type SetPasswordOptions = DbOptions & PasswordOptions & { revokeGrants?: boolean };

function personFields(person: PersonRecord): Array<[string, string]> {
  return [
    ['username', person.username],
    ['name', person.displayName],
    ['email', person.email ?? '-'],
    ['roles', person.roles.join(' ')],
    ['status', person.disabledAt === null ? 'enabled' : `disabled since ${new Date(person.disabledAt).toISOString()}`],
    ['id', person.id],
    ['created', new Date(person.createdAt).toISOString()],
  ];
}

function printPerson(person: PersonRecord, options: DbOptions, headline: string, io: CliIo): void {
  if (options.json) printJson(io.stdout, describePerson(person));
  else printLines(io.stdout, headline, ...formatFields(personFields(person)));
}

async function addUser(options: AddOptions, io: CliIo): Promise<void> {
  const password = await readPassword(options, io.stdin);
  const person = await withStore(options.db, (store) =>
    addPerson(
      store,
      { username: options.username, password, roles: options.role ?? [], name: options.name, email: options.email },
      Date.now(),
    ),
  );
  recordChange(io, 'user_created', { username: person.username, person: person.id, roles: person.roles });
  printPerson(person, options, `created user '${person.username}'`, io);
}

async function listUsers(options: DbOptions, io: CliIo): Promise<void> {
  const people = await withStore(options.db, listPeople);
  printList(io.stdout, people, {
    json: options.json,
    empty: 'no users',
    header: ['USERNAME', 'NAME', 'ROLES', 'STATUS'],
    toJson: describePerson,
    row: (p) => [p.username, p.displayName, p.roles.join(','), p.disabledAt === null ? 'enabled' : 'disabled'],
  });
}

async function showUser(username: string, options: DbOptions, io: CliIo): Promise<void> {
  const { person, signIn } = await withStore(options.db, (store) => getPersonWithSignIn(store, username, Date.now()));
  if (options.json) printJson(io.stdout, { ...describePerson(person), sign_in: signInStateJson(signIn) });
  else printLines(io.stdout, ...formatFields([...personFields(person), ['sign-in', describeSignInState(signIn)]]));
}

async function unlockUser(username: string, options: DbOptions, io: CliIo): Promise<void> {
  const { person, cleared } = await withStore(options.db, (store) => unlockSignIn(store, username));
  recordChange(io, 'user_unlocked', { username: person.username });
  if (options.json) printJson(io.stdout, { username: person.username, unlocked: true, counts_cleared: cleared });
  else
    printLines(
      io.stdout,
      cleared > 0
        ? `unlocked user '${person.username}': forgot every failed sign-in counted for the username, from every address (${cleared} count${cleared === 1 ? '' : 's'})`
        : `user '${person.username}' had no failed sign-ins counted: nothing to unlock`,
    );
}

async function removeUser(username: string, options: DbOptions, io: CliIo): Promise<void> {
  await withStore(options.db, (store) => removePerson(store, username));
  recordChange(io, 'user_removed', { username });
  if (options.json) printJson(io.stdout, { username, removed: true });
  else printLines(io.stdout, `removed user '${username}', their sign-in sessions and every token issued to them`);
}

async function setPassword(username: string, options: SetPasswordOptions, io: CliIo): Promise<void> {
  // Checked before the database is opened, as every other argument is.
  const password = checkPassword(await readPassword(options, io.stdin));
  const revoke = options.revokeGrants === true;
  const person = await withStore(options.db, (store) =>
    setPersonPassword(store, username, password, revoke ? Date.now() : null),
  );
  recordChange(io, 'user_password_set', { username: person.username, person: person.id, grants_revoked: revoke });
  const headline = revoke
    ? `changed the password of user '${username}', ended their sign-in sessions and revoked their grants (every app must ask them again)`
    : `changed the password of user '${username}' and ended their sign-in sessions (their grants are kept)`;
  if (options.json) printJson(io.stdout, { ...describePerson(person), grants_revoked: revoke });
  else printPerson(person, options, headline, io);
}

async function setDisabled(username: string, disable: boolean, options: DbOptions, io: CliIo): Promise<void> {
  const { person, changed } = await withStore(options.db, (store) =>
    setPersonDisabled(store, username, disable, Date.now()),
  );
  if (changed) {
    recordChange(io, disable ? 'user_disabled' : 'user_enabled', { username: person.username, person: person.id });
  }
  const headline = disable
    ? changed
      ? `disabled user '${username}': their sign-in sessions ended and their tokens were revoked`
      : `user '${username}' was already disabled`
    : changed
      ? `enabled user '${username}'`
      : `user '${username}' was already enabled`;
  printPerson(person, options, headline, io);
}

interface UpdateOptions extends DbOptions {
  name?: string;
  role?: string[];
  addRole?: string[];
  removeRole?: string[];
  /** A new address; false with --no-email. */
  email?: string | false;
}

async function updateUser(username: string, options: UpdateOptions, io: CliIo): Promise<void> {
  const result = await withStore(options.db, (store) =>
    updatePerson(
      store,
      username,
      {
        name: options.name,
        roles: options.role,
        addRoles: options.addRole,
        removeRoles: options.removeRole,
        email: options.email === false ? null : options.email,
      },
      Date.now(),
    ),
  );
  const { person, changed, removedRoles, grantsRevoked } = result;
  if (changed.length > 0)
    recordChange(io, 'user_updated', { username: person.username, person: person.id, changes: changed });
  if (options.json) {
    printJson(io.stdout, {
      ...describePerson(person),
      changed,
      roles_taken_away: removedRoles,
      grants_revoked: grantsRevoked,
    });
    return;
  }
  const lines =
    changed.length === 0
      ? [`user '${person.username}' is unchanged: they have these settings already`]
      : [`updated user '${person.username}': ${changed.join(', ')}`];
  if (removedRoles.length > 0) {
    lines.push(
      `roles taken away: ${removedRoles.join(', ')}; revoked ${grantsRevoked} grant(s) carrying them (their tokens stop working now)`,
    );
  } else if (changed.length > 0) {
    lines.push('nothing was taken away: every grant and token keeps working');
  }
  printLines(io.stdout, ...lines, ...formatFields(personFields(person)));
}

export function registerUserCommands(program: Command, io: CliIo): void {
  const user = requireSubcommand(program.command('user').description('manage the people who sign in'));

  addPasswordOptions(
    user
      .command('add')
      .description('create a person')
      .requiredOption('--username <username>', 'the name they sign in with')
      .option('--role <role>', 'PATIENT, CLINICIAN or TEAMCOORD (repeatable; at least one)', collectList)
      .option('--name <display name>', 'the name shown to them and to clients (default: the username)')
      .option('--email <address>', 'their e-mail address (the OpenID Connect email claim)'),
  )
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((options: AddOptions) => addUser(options, io));

  user
    .command('list')
    .description('list people')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((options: DbOptions) => listUsers(options, io));

  user
    .command('show')
    .description('show one person')
    .argument('<username>')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((username: string, options: DbOptions) => showUser(username, options, io));

  user
    .command('update')
    .description("change a person's name, roles or e-mail address (a role taken away revokes the grants carrying it)")
    .argument('<username>')
    .option('--name <display name>', 'the name shown to them and to clients')
    .option('--role <role>', 'replace their roles: PATIENT, CLINICIAN or TEAMCOORD (repeatable)', collectList)
    .option('--add-role <role>', 'give them another role (repeatable)', collectList)
    .option('--remove-role <role>', 'take a role away (repeatable): grants carrying it are revoked', collectList)
    .option('--email <address>', 'their e-mail address (the OpenID Connect email claim)')
    .option('--no-email', 'remove their e-mail address')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((username: string, options: UpdateOptions) => updateUser(username, options, io));

  user
    .command('remove')
    .description('remove a person, their sessions and everything issued to them')
    .argument('<username>')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((username: string, options: DbOptions) => removeUser(username, options, io));

  addPasswordOptions(
    user
      .command('set-password')
      .description("set a person's password (ends their sign-in sessions; keeps their grants unless --revoke-grants)")
      .argument('<username>')
      .option(
        '--revoke-grants',
        'also revoke every grant of theirs, so all their tokens stop. Without it a new password does not end the apps the person allowed; add --revoke-grants when the old password may have been stolen',
      ),
  )
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((username: string, options: SetPasswordOptions) => setPassword(username, options, io));

  user
    .command('disable')
    .description('stop a person from signing in (ends their sessions, revokes their tokens)')
    .argument('<username>')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((username: string, options: DbOptions) => setDisabled(username, true, options, io));

  user
    .command('unlock')
    .description(
      'forget every failed sign-in counted for a username, from every address, so that no attempt has to wait',
    )
    .argument('<username>')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((username: string, options: DbOptions) => unlockUser(username, options, io));

  user
    .command('enable')
    .description('let a disabled person sign in again')
    .argument('<username>')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((username: string, options: DbOptions) => setDisabled(username, false, options, io));
}
