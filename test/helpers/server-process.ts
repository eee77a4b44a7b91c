/**
 * The REAL server and CLI as child processes, for black-box tests (browser flows,
 * signals, anything that must see what an operator sees). Runs the built
 * `dist/cli/main.js` — `npm test` builds it before vitest starts; `npm run build` does
 * it by hand. Nothing here imports src/: what is tested is exactly what ships.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI entry point. */
export const CLI_PATH = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function requireBuild(): void {
  if (!existsSync(CLI_PATH)) {
    throw new Error(`${CLI_PATH} does not exist: run 'npm run build' first ('npm test' builds it)`);
  }
}

/** A fresh folder with a `sqlite:` URL in it; `cleanup` deletes the folder. */
export function tempDb(): { db: string; dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-proc-'));
  return { db: `sqlite:${join(dir, 'tessera.db')}`, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CliResult {
  stdout: string;
  stderr: string;
  /** The exit code; null when the process was killed by a signal. */
  status: number | null;
}

/**
 * Runs `node dist/cli/main.js ARGS --db DB` to completion and returns what it printed.
 * `input` is written to its stdin (for `--password-stdin`). Asserts nothing.
 */
export function runCli(
  args: string[],
  options: { db: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): CliResult {
  requireBuild();
  const result = spawnSync(process.execPath, [CLI_PATH, ...args, '--db', options.db], {
    input: options.input ?? '',
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs ?? 20_000,
  });
  if (result.error) throw result.error;
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

/** runCli for a command that must succeed and print one JSON value; returns the parsed value. */
export function runCliJson<T = Record<string, unknown>>(args: string[], options: { db: string; input?: string }): T {
  const result = runCli([...args, '--json'], options);
  if (result.status !== 0) {
    throw new Error(`tessera ${args.join(' ')} exited with ${result.status}: ${result.stderr.trim() || '(no stderr)'}`);
  }
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`tessera ${args.join(' ')} printed no JSON on stdout: ${JSON.stringify(result.stdout)}`);
  }
}

export interface CliClient {
  client_id: string;
  client_secret?: string;
  [key: string]: unknown;
}

/** `tessera client add ARGS --json` (ARGS: `--name`, `--redirect-uri`, `--grant`, …). */
export function addClientWithCli(db: string, args: string[]): CliClient {
  return runCliJson<CliClient>(['client', 'add', ...args], { db });
}

/** `tessera user add --username U --role R… [--name N] --password-stdin --json`. */
export function addUserWithCli(
  db: string,
  user: { username: string; password: string; roles: string[]; name?: string },
): Record<string, unknown> {
  const args = ['user', 'add', '--username', user.username, '--password-stdin'];
  for (const role of user.roles) args.push('--role', role);
  if (user.name !== undefined) args.push('--name', user.name);
  return runCliJson(args, { db, input: `${user.password}\n` });
}

/** HTTP Basic credentials for a client: form-urlencoded before base64 (RFC 6749 §2.3.1). */
export function basicAuth(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

export interface ServerProcess {
  /** `http://HOST:PORT`, from the server's `listening on …` line. */
  baseUrl: string;
  /** The database URL the server uses (for runCli against the same database). */
  db: string;
  child: ChildProcess;
  /** Everything the server wrote on stderr so far (logs). */
  stderr: () => string;
  /**
   * Sends SIGTERM and waits for the process to exit (SIGKILL after `killAfterMs`); then
   * deletes the temporary database folder if startServer made it. Asserts nothing: the
   * exit code and signal are returned for tests that care.
   */
  stop: (options?: { killAfterMs?: number }) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  /** A `sqlite:` or `postgres:` URL; default a new SQLite file in a temporary folder. */
  db?: string;
  /** More `serve` arguments (e.g. `['--demo']`). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  logLevel?: string;
  /** How long to wait for the `listening on` line (default 15 s). */
  timeoutMs?: number;
}

const LISTENING = /^listening on (http:\/\/\S+)$/;

/**
 * Starts `node dist/cli/main.js serve --port 0 --db DB --log-level warn` and resolves
 * once it prints `listening on http://HOST:PORT`. Rejects — with the server's stderr in
 * the message — if it exits first, or prints nothing within the timeout (it is then killed).
 */
export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  requireBuild();
  const temp = options.db === undefined ? tempDb() : undefined;
  const db = options.db ?? (temp as { db: string }).db;
  const args = [
    CLI_PATH,
    'serve',
    '--port',
    '0',
    '--db',
    db,
    '--log-level',
    options.logLevel ?? 'warn',
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });

  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  // Keep reading both pipes for the life of the process, so a chatty server never blocks.
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-64 * 1024);
  });

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const describe = () => `\n--- stdout ---\n${stdout || '(nothing)'}\n--- stderr ---\n${stderr || '(nothing)'}`;

  let baseUrl: string;
  try {
    baseUrl = await new Promise<string>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? 15_000;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`tessera serve printed no 'listening on' line within ${timeoutMs} ms${describe()}`));
      }, timeoutMs);
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        const line = stdout.split('\n').find((l) => LISTENING.test(l.trim()));
        if (line) {
          clearTimeout(timer);
          resolve((LISTENING.exec(line.trim()) as RegExpExecArray)[1] as string);
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot start tessera serve: ${err.message}`));
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`tessera serve exited (code ${code}, signal ${signal}) before listening${describe()}`));
      });
    });
  } catch (err) {
    await exited;
    temp?.cleanup();
    throw err;
  }

  let stopped: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  return {
    baseUrl,
    db,
    child,
    stderr: () => stderr,
    stop: ({ killAfterMs = 10_000 } = {}) => {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        try {
          return await exited;
        } finally {
          clearTimeout(timer);
          temp?.cleanup();
        }
      })();
      return stopped;
    },
  };
}
