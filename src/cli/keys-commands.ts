/** `tessera keys list|rotate`: the keys that sign JWTs (RFC 7517), published at /.well-known/jwks.json. */
import type { Command } from 'commander';
import {
  listKeys,
  parseKeyRefreshSeconds,
  parseSigningAlg,
  rotateKey,
  serverKeySealer,
  UNSEALED_KEYS_NOTE,
  type KeyInfo,
} from '../services/keys.js';
import {
  dbOption,
  formatFields,
  jsonOption,
  printJson,
  printList,
  printLines,
  printNote,
  requireSubcommand,
  withStore,
  type CliIo,
} from './common.js';
import { recordChange } from './audit-log.js';

interface ListOptions {
  db: string;
  json?: boolean;
}

interface RotateOptions extends ListOptions {
  alg?: string;
}

async function list(options: ListOptions, io: CliIo): Promise<void> {
  const sealer = serverKeySealer(io.env.TESSERA_SECRET);
  const refreshSeconds = parseKeyRefreshSeconds(io.env.TESSERA_KEY_REFRESH_SECONDS);
  const keys = await withStore(options.db, (store) => listKeys(store, Date.now(), refreshSeconds));
  if (!sealer.sealing) printNote(io.stderr, UNSEALED_KEYS_NOTE);
  printList(io.stdout, keys, {
    json: options.json,
    empty: 'no signing keys (tessera serve makes the first one; so does tessera keys rotate)',
    header: ['KID', 'ALG', 'STATE', 'CREATED', 'SEALED'],
    toJson: (k) => k,
    row: (k) => [k.kid, k.alg, k.state, k.created, k.sealed ? 'yes' : 'no'],
  });
}

async function rotate(options: RotateOptions, io: CliIo): Promise<void> {
  const alg = parseSigningAlg(options.alg);
  const sealer = serverKeySealer(io.env.TESSERA_SECRET);
  const key: KeyInfo = await withStore(options.db, (store) => rotateKey(store, alg, sealer, Date.now()));
  recordChange(io, 'signing_key_rotated', { kid: key.kid, alg: key.alg });
  if (!sealer.sealing) printNote(io.stderr, UNSEALED_KEYS_NOTE);
  if (options.json) {
    printJson(io.stdout, key);
    return;
  }
  printLines(
    io.stdout,
    `new signing key ${key.kid}`,
    ...formatFields([
      ['kid', key.kid],
      ['alg', key.alg],
      ['state', key.state],
      ['created', key.created],
    ]),
    '',
    'It is published in the JWK Set now; every running instance signs with it within a minute.',
    'Every previous key stays published until the tokens it signed have expired; ID tokens of',
    'clients registered with another algorithm get a new key of that algorithm when first needed.',
  );
}

export function registerKeysCommands(program: Command, io: CliIo): void {
  const keys = requireSubcommand(
    program.command('keys').description('manage the keys that sign JWT access tokens and ID tokens'),
  );

  keys
    .command('list')
    .description('list the published signing keys: the active one and previous ones still published')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((options: ListOptions) => list(options, io));

  keys
    .command('rotate')
    .description('make a new signing key (the first one when there is none); every active key retires')
    .option('--alg <alg>', 'ES256 (default), RS256 or EdDSA')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((options: RotateOptions) => rotate(options, io));
}
