/**
 * The kinds of rows that expire, in one list: the purge (maintenance.ts), the CLI's
 * labels (cli/purge-command.ts) and export/import (transfer.ts) all read it, so adding
 * a kind is one entry here. Listed children before grants: a purge deletes what a grant
 * holds before the grant takes it along, so that it is counted.
 */
export const TOKEN_KINDS = {
  pending_authorizations: { label: 'pending authorizations', key: 'id', expiry: 'expires_at', cutoff: 'now' },
  sign_in_sessions: { label: 'sign-in sessions', key: 'hash', expiry: 'expires_at', cutoff: 'now' },
  /** A failure window ends `signInFailureWindowMs` after it started. */
  sign_in_failures: { label: 'sign-in failure counts', key: 'key', expiry: 'window_started_at', cutoff: 'window' },
  authorization_codes: { label: 'authorization codes', key: 'hash', expiry: 'expires_at', cutoff: 'now' },
  access_tokens: { label: 'access tokens', key: 'hash', expiry: 'expires_at', cutoff: 'now' },
  refresh_tokens: { label: 'refresh tokens', key: 'hash', expiry: 'expires_at', cutoff: 'now' },
  grants: { label: 'grants', key: 'id', expiry: 'expires_at', cutoff: 'now' },
} as const satisfies Record<string, { label: string; key: string; expiry: string; cutoff: 'now' | 'window' }>;

export type TokenKind = keyof typeof TOKEN_KINDS;

/** How many rows of each kind one purge deleted (keys are the table names). */
export type PurgeCounts = Record<TokenKind, number>;

export const PURGE_KINDS = Object.keys(TOKEN_KINDS) as TokenKind[];

export function emptyPurgeCounts(): PurgeCounts {
  return Object.fromEntries(PURGE_KINDS.map((kind) => [kind, 0])) as PurgeCounts;
}
