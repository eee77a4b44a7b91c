/**
 * RFC 6749 §4.1.2.1, §4.2.2.1, §5.2 and RFC 6750 §3.1 error codes, as one error type.
 *
 * `description` is public: it is sent to clients and shown to people, so it may only
 * hold the characters RFC 6749 allows (%x20-21 / %x23-5B / %x5D-7E). `cause` is for
 * the log and is never sent.
 */
import { StoreUnavailableError } from '../store/errors.js';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'invalid_token'
  | 'insufficient_scope'
  // OpenID Connect Core 1.0 §3.1.2.6
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'registration_not_supported';

export interface OAuthErrorOptions {
  status?: number;
  /**
   * Whether the authorization endpoint may send this error to the redirect URI. False
   * when the client or its redirect URI is not established (RFC 6749 §4.1.2.1): the
   * person then sees an error page instead.
   */
  redirectable?: boolean;
  cause?: unknown;
}

const defaultStatus: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  unsupported_response_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  server_error: 500,
  temporarily_unavailable: 503,
  invalid_token: 401,
  insufficient_scope: 403,
  login_required: 400,
  consent_required: 400,
  interaction_required: 400,
  request_not_supported: 400,
  request_uri_not_supported: 400,
  registration_not_supported: 400,
};

export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly description: string;
  readonly status: number;
  readonly redirectable: boolean;

  constructor(code: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}) {
    super(`${code}: ${description}`, { cause: options.cause });
    this.name = 'OAuthError';
    this.code = code;
    this.description = safeDescription(description);
    this.status = options.status ?? defaultStatus[code];
    this.redirectable = options.redirectable ?? true;
  }
}

/** Replaces characters RFC 6749 §5.2 forbids in error_description (`"`, `\`, non-ASCII). */
export function safeDescription(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, ' ');
}

export const invalidRequest = (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_request', d, o);
export const invalidClient = (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_client', d, o);
export const invalidGrant = (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_grant', d, o);
export const unauthorizedClient = (d: string, o?: OAuthErrorOptions) => new OAuthError('unauthorized_client', d, o);
export const unsupportedGrantType = (d: string, o?: OAuthErrorOptions) =>
  new OAuthError('unsupported_grant_type', d, o);
export const unsupportedResponseType = (d: string, o?: OAuthErrorOptions) =>
  new OAuthError('unsupported_response_type', d, o);
export const invalidScope = (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_scope', d, o);
export const accessDenied = (d: string, o?: OAuthErrorOptions) => new OAuthError('access_denied', d, o);
export const serverError = (cause: unknown) =>
  new OAuthError('server_error', 'The server met an unexpected condition', { cause });
export const temporarilyUnavailable = (d: string, o?: OAuthErrorOptions) =>
  new OAuthError('temporarily_unavailable', d, o);
export const invalidToken = (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_token', d, o);
export const loginRequired = (d: string, o?: OAuthErrorOptions) => new OAuthError('login_required', d, o);
export const consentRequired = (d: string, o?: OAuthErrorOptions) => new OAuthError('consent_required', d, o);
export const interactionRequired = (d: string, o?: OAuthErrorOptions) => new OAuthError('interaction_required', d, o);

/** What a person or client is told while the database cannot be reached. */
export const UNAVAILABLE_DESCRIPTION = 'The service is temporarily unavailable; please try again shortly';

/**
 * Any thrown value as an OAuthError: a database that cannot be reached right now becomes
 * temporarily_unavailable (503, the cause kept for the log); any other unexpected
 * failure a fixed server_error.
 */
export function asOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  if (err instanceof StoreUnavailableError) return temporarilyUnavailable(UNAVAILABLE_DESCRIPTION, { cause: err });
  return serverError(err);
}
