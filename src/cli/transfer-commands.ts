/**
 * `tessera export` and `tessera import`: the whole database as one JSON document and
 * back — the way from a SQLite deployment to PostgreSQL, and a portable backup. The work
 * is done by src/store/transfer.ts; these commands read and write files and print.
 *
 * The document holds password hashes and (unless TESSERA_SECRET is set) the cookie
 * secret: `--output` creates the file with mode 0600.
 */
import { once } from 'node:events';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { InvalidInputError } from '../services/errors.js';
import {
  countRows,
  exportDatabase,
  importDatabase,
  parseExport,
  serializeExport,
  TransferError,
  type ExportDocument,
  type TransferCounts,
} from '../store/transfer.js';
import {
  dbOption,
  formatTable,
  jsonOption,
  printJson,
  printLines,
  readStdin,
  withStore,
  type CliIo,
} from './common.js';
import { recordChange } from './audit-log.js';

interface ExportOptions {
  db: string;
  output?: string;
}

interface ImportOptions {
  db: string;
  input: string;
  json?: boolean;
}

/** A TransferError is the operator's to fix: one line, exit 2. */
async function asInputErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof TransferError) throw new InvalidInputError(err.message);
    throw err;
  }
}

/** A file system error as a short phrase. */
function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return e.message ?? String(err);
  }
}

/** "clients 2, people 3, …": the non-empty tables of a count. */
function summary(counts: TransferCounts): string {
  const parts = Object.entries(counts.tables)
    .filter(([, n]) => n > 0)
    .map(([table, n]) => `${table} ${n}`);
  return parts.length > 0 ? parts.join(', ') : 'no rows';
}

/**
 * Writes the document to `file` through a temporary file next to it, created with mode
 * 0600 and renamed into place once complete: the secrets are never readable by others,
 * even for a moment, and an interrupted export leaves no half-written file behind.
 */
async function writeExportFile(file: string, doc: ExportDocument): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.chmod(0o600); // whatever the umask
      for (const chunk of serializeExport(doc)) await handle.write(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new InvalidInputError(`cannot write '${file}': ${describeFsError(err)}`);
  }
}

async function writeExportStdout(doc: ExportDocument, stdout: NodeJS.WritableStream): Promise<void> {
  for (const chunk of serializeExport(doc)) {
    if (!stdout.write(chunk)) await once(stdout, 'drain');
  }
}

async function exportCommand(options: ExportOptions, io: CliIo): Promise<void> {
  const doc = await asInputErrors(() => withStore(options.db, (store) => exportDatabase(store), { mustExist: true }));
  if (options.output === undefined || options.output === '-') {
    await writeExportStdout(doc, io.stdout);
    recordChange(io, 'database_exported', { output: 'stdout' });
    return;
  }
  await writeExportFile(options.output, doc);
  recordChange(io, 'database_exported', { output: options.output });
  const counts = countRows(doc);
  printLines(
    io.stdout,
    `exported ${counts.rows} rows (${summary(counts)}) at migration ${doc.migration} to ${options.output}`,
    'the file holds password hashes and may hold the cookie secret: keep it safe, delete it once imported',
  );
}

async function readInput(input: string, stdin: CliIo['stdin']): Promise<string> {
  if (input === '-') {
    if (stdin.isTTY) {
      throw new InvalidInputError("no input: use --input FILE, or pipe an export into 'tessera import'");
    }
    return readStdin(stdin);
  }
  try {
    return await readFile(input, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`cannot read '${input}': ${describeFsError(err)}`);
  }
}

async function importCommand(options: ImportOptions, io: CliIo): Promise<void> {
  // The document is read and checked before the target is opened: a wrong file changes nothing.
  const doc = await asInputErrors(async () => parseExport(await readInput(options.input, io.stdin)));
  const result = await asInputErrors(() =>
    // A restore may make its database: a new SQLite file, or the tables in an empty PostgreSQL database.
    withStore(options.db, (store) => importDatabase(store, doc), { migrate: false, create: true }),
  );
  recordChange(io, 'database_imported', { rows: result.rows });
  if (options.json) {
    printJson(io.stdout, result);
    return;
  }
  printLines(
    io.stdout,
    `imported ${result.rows} rows (export of ${result.exported_at}, migration ${result.migration})`,
    ...formatTable(
      ['table', 'rows'],
      Object.entries(result.tables).map(([table, n]) => [table, String(n)]),
    ),
    ...result.applied.map((name) => `applied migration ${name}`),
  );
}

export function registerTransferCommands(program: Command, io: CliIo): void {
  program
    .command('export')
    .description(
      'write the whole database as one JSON document (to move it to another database or keep a backup); ' +
        'it holds password hashes and may hold the cookie secret',
    )
    .option('--output <file>', 'write to FILE, created with mode 0600 (default: stdout)')
    .addOption(dbOption())
    .action((options: ExportOptions) => exportCommand(options, io));

  program
    .command('import')
    .description('load an export into a new, empty database (migrating it first); all or nothing')
    .option('--input <file>', "read the export from FILE ('-': stdin)", '-')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((options: ImportOptions) => importCommand(options, io));
}
