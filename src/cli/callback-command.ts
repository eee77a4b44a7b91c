/**
 * `tessera callback [REDIRECT_URI]`: a one-shot loopback redirect listener for trying the
 * code flow by hand, as a native app receives its authorization response (RFC 8252 §7.3:
 * `http://127.0.0.1:PORT/…`). It listens on the redirect URI's address and port, waits
 * for the browser to arrive at its path, answers with a small page and prints the code —
 * alone on stdout, so that `CODE=$(npx tessera callback …)` works — then exits.
 *
 * An error response (RFC 6749 §4.1.2.1), or a `state` other than the one given with
 * `--state` (RFC 6749 §10.12: a response that is not for this request), is one line on
 * stderr and exit 2. The code never appears on the page, and the page neither loads nor
 * links anything, so it cannot leak the code through a Referer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { Command } from 'commander';
import { escapeHtml } from '../http/views/html.js';
import { securityHeaders } from '../http/security-headers.js';
import { InvalidInputError } from '../services/errors.js';
import { jsonOption, oneLine, printJson, printLines, printNote, type CliIo } from './common.js';

export const DEFAULT_CALLBACK_URI = 'http://127.0.0.1:8765/callback';

interface CallbackOptions {
  state?: string;
  json?: boolean;
}

/** What arrived at the redirect URI: a code, or why there is none. */
type Outcome =
  { ok: true; code: string; state: string | undefined; iss: string | undefined } | { ok: false; problem: string };

/** The loopback address and port to listen on, and the path to wait at. */
interface Listener {
  uri: string;
  host: string;
  port: number;
  path: string;
}

/**
 * Only an `http:` loopback IP literal with an explicit port: RFC 8252 §8.3 advises the
 * literal over `localhost`, which may resolve elsewhere or to the other IP version than
 * the browser uses.
 */
export function parseCallbackUri(value: string): Listener {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInputError(
      `the redirect URI must be an absolute URL such as ${DEFAULT_CALLBACK_URI}, not '${value}'`,
    );
  }
  if (url.protocol !== 'http:') {
    throw new InvalidInputError(
      `the redirect URI must use http: on a loopback address (RFC 8252 §7.3), not '${value}'`,
    );
  }
  if (url.hostname === 'localhost') {
    throw new InvalidInputError(`use 127.0.0.1 rather than localhost in the redirect URI (RFC 8252 §8.3)`);
  }
  if (url.hostname !== '127.0.0.1' && url.hostname !== '[::1]') {
    throw new InvalidInputError(`the redirect URI must be on 127.0.0.1 or [::1]: this listener is local only`);
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '' || value.includes('#')) {
    throw new InvalidInputError('the redirect URI must have neither user information nor a fragment');
  }
  // URL drops the default port 80, so an empty port is both "none" and ":80".
  if (url.port === '') {
    throw new InvalidInputError(`the redirect URI must name a port other than 80, e.g. ${DEFAULT_CALLBACK_URI}`);
  }
  return { uri: value, host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), path: url.pathname };
}

/** Whether two states are equal, in time that does not depend on where they differ. */
function sameState(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Reads the authorization response (RFC 6749 §4.1.2 and §4.1.2.1) from the request's query. */
export function readResponse(query: URLSearchParams, expectedState: string | undefined): Outcome {
  for (const name of ['code', 'state', 'error', 'error_description', 'iss']) {
    if (query.getAll(name).length > 1) return { ok: false, problem: `the response repeats the parameter ${name}` };
  }
  const state = query.get('state') ?? undefined;
  if (expectedState !== undefined && (state === undefined || !sameState(state, expectedState))) {
    return {
      ok: false,
      problem:
        state === undefined
          ? 'the response has no state, but --state was given: it is not the answer to your request'
          : 'the state in the response is not the one given with --state: it is not the answer to your request',
    };
  }
  const error = query.get('error');
  if (error !== null) {
    const description = query.get('error_description');
    return {
      ok: false,
      problem: `the authorization server answered ${error}${description ? `: ${description}` : ''}`,
    };
  }
  const code = query.get('code');
  if (code === null || code === '') return { ok: false, problem: 'the response has neither a code nor an error' };
  return { ok: true, code, state, iss: query.get('iss') ?? undefined };
}

function sendPage(res: ServerResponse, status: number, title: string, text: string): void {
  const body =
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)}</title></head>` +
    `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>`;
  res.writeHead(status, {
    ...securityHeaders('text/html'),
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'close',
  });
  res.end(body);
}

/** Listens until the first GET at the path, answers it, stops listening and returns what it held. */
async function awaitResponse(listener: Listener, options: CallbackOptions, io: CliIo): Promise<Outcome> {
  let settle: (outcome: Outcome) => void = () => undefined;
  const outcome = new Promise<Outcome>((resolve) => (settle = resolve));
  let done = false;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // Anything else (a favicon, a probe) is answered and the wait goes on.
    if (done || url.pathname !== listener.path) {
      sendPage(res, 404, 'Not found', `This listener waits at ${listener.path} only.`);
      return;
    }
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      sendPage(res, 405, 'Method not allowed', 'The authorization response arrives as a GET request.');
      return;
    }
    done = true;
    const result = readResponse(url.searchParams, options.state);
    if (result.ok) {
      sendPage(res, 200, 'Signed in', 'You can close this window: the code is in your terminal.');
    } else {
      sendPage(res, 200, 'Sign-in not completed', 'You can close this window: the reason is in your terminal.');
    }
    res.once('finish', () => settle(result));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const reason =
        err.code === 'EADDRINUSE'
          ? 'the port is in use'
          : err.code === 'EADDRNOTAVAIL'
            ? 'the address is not on this machine'
            : err.code === 'EACCES'
              ? 'permission denied (use a port above 1023)'
              : err.message;
      reject(new InvalidInputError(`cannot listen on ${listener.uri}: ${reason}`));
    });
    server.listen(listener.port, listener.host, resolve);
  });
  printNote(io.stderr, `listening on ${listener.uri}: open the authorization URL in a browser (Ctrl-C to stop)`);
  try {
    return await outcome;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function callback(uri: string, options: CallbackOptions, io: CliIo): Promise<void> {
  const listener = parseCallbackUri(uri);
  const result = await awaitResponse(listener, options, io);
  if (!result.ok) throw new InvalidInputError(oneLine(result.problem).slice(0, 500));
  if (options.json) {
    printJson(io.stdout, {
      code: result.code,
      ...(result.state !== undefined && { state: result.state }),
      ...(result.iss !== undefined && { iss: result.iss }),
    });
  } else {
    printLines(io.stdout, result.code);
  }
  printNote(io.stderr, 'received a code: it expires in 60 seconds, exchange it at the token endpoint now');
}

export function registerCallbackCommand(program: Command, io: CliIo): void {
  program
    .command('callback')
    .description(
      'wait on a loopback redirect URI for one authorization response and print its code (for trying the code flow by hand)',
    )
    .argument(
      '[redirect-uri]',
      'where to listen: http://127.0.0.1:PORT/PATH or http://[::1]:PORT/PATH',
      DEFAULT_CALLBACK_URI,
    )
    .option('--state <state>', "the request's state: a response with another state is refused (RFC 6749 §10.12)")
    .addOption(jsonOption())
    .action((uri: string, options: CallbackOptions) => callback(uri, options, io));
}
