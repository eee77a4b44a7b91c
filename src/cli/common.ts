/**
 * What every `tessera` command shares: the `--db` option, opening and closing the store,
 * reading a password, printing results, and the one error handler that turns any failure
 * into a single `tessera: …` line on stderr and an exit code:
 *
 * - 0: `--help`, `--version`;
 * - 2: anything the operator can fix — a wrong argument (commander or
 *   InvalidInputError), an unknown client or user, a database that cannot be opened;
 * - 1: an unexpected internal failure (still one line, never a stack trace).
 */
import type { EventEmitter } from 'node:events';
import { Command, CommanderError, Option } from 'commander';
import { InvalidInputError } from '../services/errors.js';
import { DEFAULT_DB_URL, isRelativeSqliteUrl, MissingDatabaseError, openStore, StoreOpenError } from '../store/open.js';

export type OpenedStore = Awaited<ReturnType<typeof openStore>>;

/**
 * Where one run of the program reads and writes, and the environment it reads: the
 * process's own in main.ts, given ones when a test runs the program in process.
 */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** Exit code for input the operator can fix (wrong argument, unknown id, unusable database). */
export const EXIT_INPUT = 2;
/** Exit code for an unexpected internal failure. */
export const EXIT_INTERNAL = 1;

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

/** `--db URL`, defaulting to `$TESSERA_DB`, else DEFAULT_DB_URL. A fresh Option per command. */
export function dbOption(): Option {
  return new Option('--db <url>', 'database URL: sqlite:PATH or postgres://…')
    .env('TESSERA_DB')
    .default(DEFAULT_DB_URL);
}

/** `--json`: machine-readable output (one JSON value on stdout, nothing else). */
export function jsonOption(): Option {
  return new Option('--json', 'print the result as JSON on stdout');
}

/** Collects a repeatable option (`--scope A --scope B`) into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Collects a repeatable option whose values may also be listed in one argument
 * (`--scope "PATIENT CLINICIAN"`, `--role PATIENT,CLINICIAN`).
 */
export function collectList(value: string, previous: string[] | undefined): string[] {
  const parts = value.split(/[\s,]+/).filter((v) => v !== '');
  return [...(previous ?? []), ...(parts.length > 0 ? parts : [value])];
}

/**
 * Makes a command that only groups subcommands (`tessera client`) answer a missing or
 * unknown subcommand with one line and exit 2, like every other wrong argument, instead
 * of commander's multi-line help on stderr. `tessera help client` keeps working.
 */
export function requireSubcommand(command: Command): Command {
  return command
    .usage('[options] <command>')
    .argument('[command]')
    .helpCommand(true)
    .action((name: string | undefined) => {
      const path = commandPath(command);
      const names = command.commands.map((c) => c.name()).filter((n) => n !== 'help');
      if (name === undefined) {
        throw new InvalidInputError(`'${path}' needs a command: ${names.join(', ')} (see '${path} --help')`);
      }
      throw new InvalidInputError(`unknown command '${path} ${name}': use ${names.join(', ')} (see '${path} --help')`);
    });
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

// ---------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------

/**
 * Opens the store at `url` (applying pending migrations unless `migrate: false`), runs
 * `fn`, and always closes the store so the process can exit promptly.
 *
 * A SQLite database at a relative path (the default `--db` is one) that Tessera never
 * made is refused (one line naming the resolved path, exit 2) unless `create: true`
 * (`migrate`, `import`; `serve` opens its own): a command run from another folder would
 * otherwise make an empty database there, quietly, and change nothing the server sees.
 * An absolute path or a PostgreSQL URL names one place wherever the command runs, so it
 * is created or migrated as `serve` would — unless `mustExist` (`export`: reading out a
 * database that is not there is a wrong path, never a wish for an empty one).
 */
export async function withStore<T>(
  url: string,
  fn: (store: OpenedStore) => Promise<T>,
  options: { migrate?: boolean; create?: boolean; mustExist?: boolean } = {},
): Promise<T> {
  let store: OpenedStore;
  try {
    const mustExist = options.mustExist ?? (!(options.create ?? false) && isRelativeSqliteUrl(url));
    store = await openStore(url, { migrate: options.migrate ?? true, mustExist });
  } catch (err) {
    if (!(err instanceof MissingDatabaseError)) throw err;
    throw new StoreOpenError(
      `${err.message}: check --db (or TESSERA_DB), or create it first with 'tessera migrate' or 'tessera serve'`,
    );
  }
  try {
    return await fn(store);
  } finally {
    await store.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------

/** All of stdin as UTF-8 text. */
export async function readStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export interface PasswordOptions {
  password?: string;
  passwordStdin?: boolean;
}

/**
 * The password from `--password P` or `--password-stdin` (all of stdin, minus ONE
 * trailing newline, `\n` or `\r\n`); exactly one of the two must be given. Does not
 * judge the password itself: services/people.ts `checkPassword` does.
 */
export async function readPassword(options: PasswordOptions, stdin?: NodeJS.ReadableStream): Promise<string> {
  if (options.password !== undefined && options.passwordStdin) {
    throw new InvalidInputError('use either --password or --password-stdin, not both');
  }
  if (options.password !== undefined) return options.password;
  if (!options.passwordStdin)
    throw new InvalidInputError('a password is required: use --password P or --password-stdin');
  const text = await readStdin(stdin);
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new InvalidInputError('--password-stdin read no password from stdin');
  return password;
}

/** The `--password` / `--password-stdin` pair, for commands that set a password. */
export function addPasswordOptions(command: Command): Command {
  return command
    .option(
      '--password <password>',
      'the password (visible to other local users in the process list; prefer --password-stdin)',
    )
    .option('--password-stdin', 'read the password from stdin (one trailing newline is removed)');
}

// ---------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------

/** One JSON value on one line of stdout. */
export function printJson(stdout: NodeJS.WritableStream, value: unknown): void {
  stdout.write(`${JSON.stringify(value)}\n`);
}

/** Lines of text on stdout. */
export function printLines(stdout: NodeJS.WritableStream, ...lines: string[]): void {
  stdout.write(lines.map((l) => `${l}\n`).join(''));
}

/** One line on stderr (a warning or a note that must not mix with stdout). */
export function printNote(stderr: NodeJS.WritableStream, line: string): void {
  stderr.write(`${oneLine(line)}\n`);
}

/** `label:  value` lines with the values aligned. */
export function formatFields(fields: Array<[string, string]>): string[] {
  const width = Math.max(0, ...fields.map(([label]) => label.length)) + 2;
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`);
}

/** A list command's output: a JSON array with --json, else a table (or `empty` when there is nothing). */
export function printList<T>(
  stdout: NodeJS.WritableStream,
  items: T[],
  options: {
    json?: boolean;
    empty: string;
    header: string[];
    toJson: (item: T) => unknown;
    row: (item: T) => string[];
  },
): void {
  if (options.json) printJson(stdout, items.map(options.toJson));
  else if (items.length === 0) printLines(stdout, options.empty);
  else printLines(stdout, ...formatTable(options.header, items.map(options.row)));
}

/** A plain text table: a header row and rows, columns padded to their widest cell. */
export function formatTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/** Text as one line: newlines and other control characters become spaces. */
export function oneLine(text: string): string {
  return text
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
}

/** The exit code and the stderr line (without the `tessera: ` prefix; undefined for none) for an error. */
export function describeError(err: unknown): { exitCode: number; message: string | undefined } {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return { exitCode: 0, message: undefined };
    // Help shown as an error has been written already; there is no one-line message for it.
    if (err.message === '(outputHelp)') return { exitCode: EXIT_INPUT, message: undefined };
    return { exitCode: EXIT_INPUT, message: oneLine(err.message.replace(/^error:\s*/, '')) };
  }
  if (err instanceof InvalidInputError || err instanceof StoreOpenError) {
    return { exitCode: EXIT_INPUT, message: oneLine(err.message) };
  }
  const text = err instanceof Error ? err.message : String(err);
  return { exitCode: EXIT_INTERNAL, message: oneLine(`unexpected error: ${text || 'unknown failure'}`) };
}

/**
 * Writes the error's one line on stderr and returns the exit code to use: `tessera: …`,
 * or `{"error":"…"}` when the command was asked for `--json`, so that a script reading
 * JSON gets JSON on failure too.
 */
export function reportError(
  err: unknown,
  stderr: NodeJS.WritableStream = process.stderr,
  options: { json?: boolean } = {},
): number {
  const { exitCode, message } = describeError(err);
  if (message === undefined) return exitCode;
  stderr.write(options.json ? `${JSON.stringify({ error: message })}\n` : `tessera: ${message}\n`);
  return exitCode;
}

/**
 * Whether the command `argv` names was given `--json`, even when it then failed. The
 * command is found by walking the subcommand names from the program; commander has set
 * the options it parsed before any failure, so `--json` given as another option's value
 * (`--name --json`) does not count, and neither does `--json` to a command without it.
 */
export function jsonRequested(program: Command, argv: readonly string[]): boolean {
  let command = program;
  for (const arg of argv) {
    if (arg === '--') break;
    if (arg.startsWith('-')) continue;
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) break;
    command = sub;
  }
  return command.options.some((o) => o.long === '--json') && command.getOptionValue('json') === true;
}

/** Reports the error as one line on stderr and exits with its code (2 for input, 1 otherwise). */
export function exitWithError(err: unknown): never {
  process.exit(reportError(err));
}

/** The width of the terminal for help text; commander's 80 when the stream is not a terminal. */
function helpWidth(stream: NodeJS.WritableStream): number {
  const tty = stream as NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  return (tty.isTTY ? tty.columns : undefined) ?? 80;
}

/**
 * Commander settings for the program, inherited by every command created after it:
 * commander throws instead of exiting, writes help and the version to `io`, and writes
 * no error text of its own, so that `reportError` prints the one line.
 */
export function configureErrors(program: Command, io: CliIo): Command {
  return program
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      getOutHelpWidth: () => helpWidth(io.stdout),
      getErrHelpWidth: () => helpWidth(io.stderr),
      outputError: () => undefined,
    })
    .showSuggestionAfterError(true);
}

/**
 * A Command whose options' environment variables (`Option.env`: TESSERA_DB …) are read
 * from the run's environment rather than from `process.env`, so that a run in process
 * sees only what it was given. The same rule as commander's own: a value from the command
 * line wins over the environment, the environment over a default.
 */
export class TesseraCommand extends Command {
  constructor(
    name: string | undefined,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    super(name);
  }

  override createCommand(name?: string): Command {
    return new TesseraCommand(name, this.env);
  }

  /** Replaces commander's (undocumented) step of the same name, which reads `process.env`. */
  _parseOptionsEnv(): void {
    for (const option of this.options) {
      const value = option.envVar === undefined ? undefined : this.env[option.envVar];
      if (value === undefined) continue;
      const key = option.attributeName();
      const source = this.getOptionValueSource(key);
      if (this.getOptionValue(key) !== undefined && !['default', 'config', 'env'].includes(source ?? '')) continue;
      // A Command is an EventEmitter (commander's typings leave it out); each option listens for its event.
      const events = this as unknown as EventEmitter;
      if (option.required || option.optional) events.emit(`optionEnv:${option.name()}`, value);
      else events.emit(`optionEnv:${option.name()}`);
    }
  }
}
