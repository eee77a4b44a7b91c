/**
 * The audit trail: every security event has one stable name, one level and a fixed set of
 * fields, written as one structured line `{event, ...fields}`. The server writes them to
 * its log (http/events.ts adds the client's address); the CLI appends the operator's
 * changes to the file named by TESSERA_AUDIT_LOG (cli/audit-log.ts). The README's table
 * lists the same events: a new one is added here and there.
 *
 * No field may hold a token, code, secret, password or cookie: the field types below are
 * identifiers, names and counts only.
 */

/** Who did it, from the server's point of view: the client's address (request.ip, honouring --trust-proxy). */
interface FromAddress {
  address: string;
}

/**
 * An operator's change through the CLI: the operating-system account that ran it, the
 * account that ran sudo (when it was run through sudo), and the machine.
 */
interface ByOperator {
  by: string;
  sudo_user?: string;
  host: string;
}

/**
 * The fields of each event. A sign-in event names the username only when it is a
 * registered one (the registered spelling): what was typed into an unknown username
 * is not logged, since people sometimes type their password there.
 */
export interface AuditEventFields {
  signed_in: FromAddress & { username: string; person: string; client: string };
  sign_in_failed: FromAddress & {
    /** The registered username, or null when the typed one names nobody. */
    username: string | null;
    client: string;
    /** credentials: wrong username or password; role: right password, but no role this client accepts. */
    reason: 'credentials' | 'role';
  };
  /** A wrong password started a wait (oauth/sign-in-throttle.ts): for this address, or for every address that failed. */
  sign_in_locked: FromAddress & {
    username: string | null;
    client: string;
    /** When this address may try again (ISO 8601), or null when only the username's wait began. */
    address_until: string | null;
    /** When every address that failed at this username may try again, or null. */
    username_until: string | null;
  };
  /** An attempt refused unchecked because a wait is running. */
  sign_in_throttled: FromAddress & { username: string | null; client: string };
  /** The person pressed Cancel on the sign-in page: the app got access_denied. */
  sign_in_cancelled: FromAddress & { client: string };
  signed_out: FromAddress & { person: string | null; client: string | null };
  consent_given: FromAddress & { person: string; client: string; grant: string; scope: string };
  consent_denied: FromAddress & { person: string; client: string };
  /** A client registered with --skip-consent got a grant without the consent page. */
  consent_skipped: FromAddress & { person: string; client: string; grant: string; scope: string };
  tokens_issued: FromAddress & {
    grant: string;
    client: string;
    /** null for a client's own token (client_credentials). */
    person: string | null;
    grant_type: string;
    scope: string;
    refresh_token: boolean;
  };
  code_replayed: FromAddress & { grant: string; client: string };
  refresh_reuse_detected: FromAddress & { grant: string; client: string };
  grant_revoked:
    | (FromAddress & { grant: string; client: string; reason: 'code_replayed' | 'refresh_reuse_detected' })
    | (ByOperator & { grant: string; reason: 'operator' });
  client_created: ByOperator & { client: string; name: string; grant_types: string[]; scopes: string[] };
  client_updated: ByOperator & { client: string; changes: string[] };
  client_removed: ByOperator & { client: string };
  client_secret_rotated: ByOperator & { client: string };
  client_disabled: ByOperator & { client: string };
  client_enabled: ByOperator & { client: string };
  user_created: ByOperator & { username: string; person: string; roles: string[] };
  user_updated: ByOperator & { username: string; person: string; changes: string[] };
  user_removed: ByOperator & { username: string };
  user_password_set: ByOperator & { username: string; person: string; grants_revoked: boolean };
  user_disabled: ByOperator & { username: string; person: string };
  user_enabled: ByOperator & { username: string; person: string };
  user_unlocked: ByOperator & { username: string };
  scope_created: ByOperator & { scope: string };
  scope_removed: ByOperator & { scope: string };
  signing_key_rotated: ByOperator & { kid: string; alg: string };
  /** The whole database written out (it holds password hashes). */
  database_exported: ByOperator & { output: string };
  database_imported: ByOperator & { rows: number };
}

export type AuditEvent = keyof AuditEventFields;

/** pino's level names, the ones events use. */
export type AuditLevel = 'info' | 'warn';

/** Each event's level and the message beside it (for people reading the log). */
export const AUDIT_EVENTS: { readonly [E in AuditEvent]: { level: AuditLevel; message: string } } = {
  signed_in: { level: 'info', message: 'signed in' },
  sign_in_failed: { level: 'info', message: 'sign-in failed' },
  sign_in_locked: { level: 'warn', message: 'sign-in locked: further attempts wait' },
  sign_in_throttled: { level: 'info', message: 'sign-in refused: wait after failed sign-ins' },
  sign_in_cancelled: { level: 'info', message: 'sign-in cancelled' },
  signed_out: { level: 'info', message: 'signed out' },
  consent_given: { level: 'info', message: 'consent given' },
  consent_denied: { level: 'info', message: 'consent denied' },
  consent_skipped: { level: 'info', message: 'authorized without the consent page (a --skip-consent client)' },
  tokens_issued: { level: 'info', message: 'tokens issued' },
  code_replayed: { level: 'warn', message: 'an authorization code was presented again' },
  refresh_reuse_detected: { level: 'warn', message: 'a used refresh token was presented again' },
  grant_revoked: { level: 'warn', message: 'grant revoked' },
  client_created: { level: 'info', message: 'client registered' },
  client_updated: { level: 'info', message: 'client updated' },
  client_removed: { level: 'info', message: 'client removed' },
  client_secret_rotated: { level: 'info', message: 'client secret rotated' },
  client_disabled: { level: 'info', message: 'client disabled' },
  client_enabled: { level: 'info', message: 'client enabled' },
  user_created: { level: 'info', message: 'user created' },
  user_updated: { level: 'info', message: 'user updated' },
  user_removed: { level: 'info', message: 'user removed' },
  user_password_set: { level: 'info', message: 'password changed' },
  user_disabled: { level: 'info', message: 'user disabled' },
  user_enabled: { level: 'info', message: 'user enabled' },
  user_unlocked: { level: 'info', message: 'sign-in throttle cleared for a username' },
  scope_created: { level: 'info', message: 'API scope registered' },
  scope_removed: { level: 'info', message: 'API scope removed' },
  signing_key_rotated: { level: 'info', message: 'signing key rotated' },
  database_exported: { level: 'info', message: 'database exported' },
  database_imported: { level: 'info', message: 'database imported' },
};

/** The part of a pino logger events are written with. */
export interface EventLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/** Writes one event at its level: `{event, ...fields}` with its message. */
export function logEvent<E extends AuditEvent>(log: EventLogger, event: E, fields: AuditEventFields[E]): void {
  const { level, message } = AUDIT_EVENTS[event];
  log[level]({ event, ...fields }, message);
}
