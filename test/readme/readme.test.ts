/**
 * The README, run: its `sh` blocks in order, as a reader pastes them, in one bash session
 * at the root of this checkout (where `npx tessera` is this checkout's built command), under
 * the convention of readme-blocks.ts. The test adds environment only — a database in a
 * temporary folder and free ports — so the commands are exactly what the README says and
 * nothing touches ./.tessera or port 9000. A browser block is played by headless
 * Chromium: it signs in where the reader would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.js';
import { freePort } from '../helpers/free-port.js';
import { readmeShellBlocks, type ShellBlock } from './readme-blocks.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const BLOCK_TIMEOUT_MS = 60_000;

/** A process's output so far, and a way to wait until it holds something. */
class Output {
  text = '';
  private waiters: Array<() => void> = [];

  add(chunk: string): void {
    this.text += chunk;
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `test` holds for the text after `from`; rejects on timeout or when `gone` settles first. */
  async until(from: number, test: (text: string) => boolean, gone: Promise<unknown>, what: string): Promise<string> {
    const deadline = Date.now() + BLOCK_TIMEOUT_MS;
    let ended = false;
    const end = () => (ended = true);
    void gone.then(end, end);
    for (;;) {
      const text = this.text.slice(from);
      if (test(text)) return text;
      if (ended) throw new Error(`${what}: it ended first (bash stops at the first command that fails)`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: nothing within ${BLOCK_TIMEOUT_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

interface Proc {
  child: ChildProcess;
  stdout: Output;
  stderr: Output;
  exited: Promise<number | null>;
}

/** bash in a process group of its own, so that stopping it stops whatever it started. */
function startBash(args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn('bash', ['--noprofile', '--norc', ...args], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdout = new Output();
  const stderr = new Output();
  child.stdout?.setEncoding('utf8').on('data', (c: string) => stdout.add(c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => stderr.add(c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout, stderr, exited };
}

async function stopGroup(proc: Proc): Promise<void> {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), s);
    } catch {
      // the group is gone already
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 10_000);
  await proc.exited;
  clearTimeout(timer);
}

/** The URL the reader would open: the last authorization URL printed so far. */
function lastAuthorizationUrl(stdout: string): string {
  const urls = stdout.match(/https?:\/\/\S+\/apiAuthorize\.action\?\S+/g) ?? [];
  const url = urls.at(-1);
  if (url === undefined) throw new Error('a browser block, but no authorization URL was printed before it');
  return url;
}

/** Headless Chromium plays the person: sign in, allow, land on the app's redirect URI. */
async function signInAndAllow(url: string, username: string, password: string): Promise<string> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.getByLabel('Username', { exact: true }).fill(username);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    return await page.locator('body').innerText();
  } finally {
    await browser.close();
  }
}

describe('the README', () => {
  const blocks = readmeShellBlocks(README);
  const temp = mkdtempSync(join(tmpdir(), 'tessera-readme-'));
  const running: Proc[] = [];
  afterAll(async () => {
    await Promise.all(running.map(stopGroup));
    rmSync(temp, { recursive: true, force: true });
  });

  it('has blocks of each kind the walkthrough needs', () => {
    const kinds = blocks.map((b) => b.mode.kind);
    expect(kinds).toContain('background');
    expect(kinds).toContain('browser');
    expect(kinds.filter((k) => k === 'run').length).toBeGreaterThan(5);
  });

  it('runs: every shell block in order, as a reader pastes it', { timeout: 240_000 }, async () => {
    const [port, callbackPort] = await Promise.all([freePort(), freePort()]);
    // The reader's environment holds no Tessera settings: the README's defaults apply,
    // but for the database and the ports.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('TESSERA_') && name !== 'CALLBACK_PORT'),
    );
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      TESSERA_DB: `sqlite:${join(temp, 'tessera.db')}`,
      TESSERA_PORT: String(port),
      CALLBACK_PORT: String(callbackPort),
      TESSERA_LOG_LEVEL: 'warn',
      // npx must run this checkout's command, never fetch a package of that name.
      npm_config_offline: 'true',
      npm_config_yes: 'false',
      npm_config_update_notifier: 'false',
    };
    const shell = startBash(['-s'], env);
    running.push(shell);
    shell.child.stdin?.write('set -euo pipefail\n');
    const describeRun = (block: ShellBlock, from: { out: number; err: number }) =>
      `README block at line ${block.line}:\n${block.text}\n--- stdout ---\n${shell.stdout.text.slice(from.out)}` +
      `\n--- stderr ---\n${shell.stderr.text.slice(from.err)}`;

    let n = 0;
    for (const block of blocks) {
      n += 1;
      if (block.mode.kind === 'skip') continue;
      if (block.mode.kind === 'background') {
        const proc = startBash(['-c', block.text], env);
        running.push(proc);
        try {
          await proc.stdout.until(0, (t) => t.includes('\n'), proc.exited, 'the background block printed no line');
        } catch (err) {
          throw new Error(`${(err as Error).message}\n${block.text}\n--- stderr ---\n${proc.stderr.text}`);
        }
        continue;
      }
      const from = { out: shell.stdout.text.length, err: shell.stderr.text.length };
      const file = join(temp, `block-${n}.sh`);
      writeFileSync(file, `${block.text}\n`);
      const done = `__README_BLOCK_${n}_DONE__`;
      // stdin of the block is /dev/null: a command that reads stdin must say so itself (<<<).
      shell.child.stdin?.write(`source ${JSON.stringify(file)} < /dev/null\nprintf '\\n%s\\n' ${done}\n`);
      const finished = shell.stdout.until(from.out, (t) => t.includes(done), shell.exited, 'the block did not finish');
      finished.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
      try {
        if (block.mode.kind === 'browser') {
          const { username, password } = block.mode;
          const url = lastAuthorizationUrl(shell.stdout.text);
          // The reader opens the URL once the listener says it waits.
          await shell.stderr.until(
            from.err,
            (t) => t.includes('listening on'),
            finished,
            'no "listening on" line from the block',
          );
          const page = await signInAndAllow(url, username, password);
          expect(page).toContain('You can close this window');
        }
        await finished;
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${describeRun(block, from)}`);
      }
    }
    shell.child.stdin?.end();
    expect(await shell.exited, 'the shell exits 0 at the end').toBe(0);

    // What the walkthrough promises: the API knows the person who signed in, and the
    // API's own client sees the token as active.
    const browserBlock = blocks.find((b) => b.mode.kind === 'browser');
    const username = browserBlock?.mode.kind === 'browser' ? browserBlock.mode.username : '(none)';
    expect(shell.stdout.text).toContain(`"username":"${username}"`);
    expect(shell.stdout.text).toContain('"active":true');
  });
});
