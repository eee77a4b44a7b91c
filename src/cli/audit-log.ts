/**
 * The operator's changes as an audit trail: when TESSERA_AUDIT_LOG names a file, every
 * command that changes something appends one JSON line to it — the same shape as the
 * server's event lines (`level`, `time`, `event`, the fields, `msg`), plus who ran it (the
 * operating-system account, the account behind sudo) and on which machine. Neither stdout
 * (results) nor stderr (one-line errors) carries it, so scripts reading them are not
 * disturbed. Event names and fields are services/audit.ts's.
 *
 * The file is checked before a command runs (checkAuditLog), so a change is refused, not
 * made unrecorded, when the file cannot be written.
 */
import { accessSync, appendFileSync, constants, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { AUDIT_EVENTS, type AuditEvent, type AuditEventFields } from '../services/audit.js';
import { InvalidInputError } from '../services/errors.js';
import type { CliIo } from './common.js';

export const AUDIT_LOG_ENV = 'TESSERA_AUDIT_LOG';

/** pino's numbers for the levels events use, so that one filter reads both logs. */
const LEVEL_NUMBERS = { info: 30, warn: 40 } as const;

/** The events an operator's command records, and the fields each takes besides who and where. */
type OperatorEvent = {
  [E in AuditEvent]: AuditEventFields[E] extends infer F ? (F extends { by: string } ? E : never) : never;
}[AuditEvent];
type OperatorFields<E extends OperatorEvent> = AuditEventFields[E] extends infer F
  ? F extends { by: string }
    ? Omit<F, 'by' | 'sudo_user' | 'host'>
    : never
  : never;

function auditPath(env: NodeJS.ProcessEnv): string | undefined {
  const path = env[AUDIT_LOG_ENV];
  return path === undefined || path === '' ? undefined : path;
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'its folder does not exist';
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
  if (e.code === 'EISDIR') return 'it is a folder';
  return e.message;
}

/** Throws (exit 2) unless the audit log, when one is set, can be appended to. Creates nothing. */
export function checkAuditLog(env: NodeJS.ProcessEnv): void {
  const path = auditPath(env);
  if (path === undefined) return;
  try {
    let exists = true;
    try {
      if (statSync(path).isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      exists = false;
    }
    accessSync(exists ? path : dirname(path), constants.W_OK);
  } catch (err) {
    throw new InvalidInputError(`${AUDIT_LOG_ENV}: cannot write the audit log '${path}': ${reason(err)}`);
  }
}

/** The operating-system account running the command (the uid when it has no name). */
function account(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? `uid ${process.getuid?.() ?? '?'}`;
  }
}

/**
 * Records an operator's change: one line appended to TESSERA_AUDIT_LOG (created with mode
 * 0600), or nothing when it is not set. Call it once the change is made, before printing
 * the result.
 */
export function recordChange<E extends OperatorEvent>(
  io: Pick<CliIo, 'env'>,
  event: E,
  fields: OperatorFields<E>,
): void {
  const path = auditPath(io.env);
  if (path === undefined) return;
  const { level, message } = AUDIT_EVENTS[event];
  const sudoUser = io.env.SUDO_USER;
  const line = {
    level: LEVEL_NUMBERS[level],
    time: Date.now(),
    event,
    ...(fields as object),
    by: account(io.env),
    ...(sudoUser !== undefined && sudoUser !== '' && { sudo_user: sudoUser }),
    host: hostname(),
    msg: message,
  };
  try {
    appendFileSync(path, `${JSON.stringify(line)}\n`, { mode: 0o600 });
  } catch (err) {
    throw new Error(`the change was made, but the audit log '${path}' could not be written: ${reason(err)}`);
  }
}
