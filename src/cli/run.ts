/**
 * One run of the `tessera` program: parses `argv`, runs the command and returns its exit
 * code, writing only to the streams it is given and reading only the environment it is
 * given. main.ts runs it on the process's own; tests run it in process, which spares a
 * Node.js start per command. It never exits the process: the caller does, from the code.
 */
import { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { jsonRequested, reportError, type CliIo } from './common.js';
import { buildProgram } from './program.js';

export interface RunOptions {
  /** What the command reads on stdin (`--password-stdin`, `import`); default nothing. */
  stdin?: string | (NodeJS.ReadableStream & { isTTY?: boolean });
  /** Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Where output goes; default collected into the result's `stdout` / `stderr`. */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

export interface RunResult {
  /** The exit code: 0, 2 for input the operator can fix, 1 for anything unexpected. */
  code: number;
  /** What was written to stdout and stderr, when no stream was given for them. */
  stdout: string;
  stderr: string;
}

/** A stream that keeps what is written to it, as text. */
function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** `argv` is the arguments only (`['client', 'list', '--json']`), without node and the script. */
export async function runCli(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const out = collector();
  const err = collector();
  const io: CliIo = {
    stdin:
      typeof options.stdin === 'string' || options.stdin === undefined
        ? Readable.from([Buffer.from(options.stdin ?? '')])
        : options.stdin,
    stdout: options.stdout ?? out.stream,
    stderr: options.stderr ?? err.stream,
    env: options.env ?? process.env,
  };
  let code = 0;
  let program: Command | undefined;
  try {
    program = buildProgram(io);
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    code = reportError(error, io.stderr, { json: program !== undefined && jsonRequested(program, argv) });
  }
  return { code, stdout: out.text(), stderr: err.text() };
}
