/**
 * How `serve` writes its log: JSON lines (one object per line, for journald, a file or a
 * log collector) or, for a person watching a terminal, one readable line per entry —
 * `12:04:05.123 INFO  signed in  event=signed_in username=alice …`. pino has no pretty
 * printer of its own; this one is small, synchronous (a line is on the terminal before
 * the next request is served) and escapes control characters, so a crafted value cannot
 * move the terminal's cursor or colour it.
 */
import { writeSync } from 'node:fs';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** `--log-format` when given; otherwise pretty on a terminal and JSON anywhere else. */
export function chooseLogFormat(requested: string | undefined, stderrIsTerminal: boolean): LogFormat {
  if (requested === 'json' || requested === 'pretty') return requested;
  return stderrIsTerminal ? 'pretty' : 'json';
}

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '36' },
  30: { name: 'INFO ', color: '32' },
  40: { name: 'WARN ', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '41;97' },
};

/** Control characters (ESC included) as visible escapes. */
function visible(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function value(v: unknown): string {
  if (typeof v === 'string' && /^[^\s"=]+$/u.test(v)) return visible(v);
  return visible(JSON.stringify(v) ?? String(v));
}

function clock(ms: unknown): string {
  const at = new Date(typeof ms === 'number' ? ms : Date.now());
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}.${String(at.getMilliseconds()).padStart(3, '0')}`;
}

/** One JSON log line as a readable one (an error's stack on the lines below it). */
export function prettyLine(line: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${visible(line.trimEnd())}\n`;
  }
  const { level, time, msg, err, ...fields } = entry;
  const known = LEVELS[Number(level)] ?? { name: String(level).padEnd(5), color: '0' };
  const paint = (code: string, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const pairs = Object.entries(fields).map(([k, v]) => `${paint('2', `${k}=`)}${value(v)}`);
  const stack = typeof err === 'object' && err !== null ? (err as { stack?: unknown }).stack : undefined;
  if (err !== undefined && typeof stack !== 'string') pairs.push(`${paint('2', 'err=')}${value(err)}`);
  const head = [clock(time), paint(known.color, known.name), visible(String(msg ?? '')), ...pairs].join(' ');
  const below = typeof stack === 'string' ? stack.split('\n').map((l) => `    ${visible(l)}\n`) : [];
  return `${head}\n${below.join('')}`;
}

/** A pino destination that writes each line, made readable, to `fd` at once. */
export function prettyDestination(fd: number, color: boolean): { write(line: string): void } {
  return {
    write(line: string) {
      writeSync(fd, prettyLine(line, color));
    },
  };
}
