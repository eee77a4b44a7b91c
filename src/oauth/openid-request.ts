/**
 * The parameters that make an authorization request an OpenID Connect authentication
 * request (OpenID Connect Core 1.0 §3.1.2.1), read once when the request is validated:
 * `nonce`, `prompt`, `max_age`, `login_hint`, `id_token_hint`. They count only when the
 * scope holds `openid`; a plain OAuth request (a PKB client's) is read exactly as before.
 * What `prompt`, `max_age` and the hints then decide is the interaction's
 * (interaction.ts); `id_token_hint` is verified there (id-token-hint.ts).
 *
 * Request objects (§6) and dynamic registration are not supported: `request`,
 * `request_uri` and `registration` are refused with the codes of §3.1.2.6 rather than
 * ignored, so that a client relying on them learns it at once.
 */
import { OAuthError, invalidRequest } from './errors.js';
import { single, type Params } from './params.js';

/** `prompt` values this server acts on (§3.1.2.1); `select_account` is read as `login` (no account chooser). */
export const PROMPT_VALUES = ['none', 'login', 'consent', 'select_account'] as const;
export type Prompt = (typeof PROMPT_VALUES)[number];

/** The OpenID Connect fields of a validated authorization request; each is absent when not sent. */
export interface OpenIdRequest {
  /** Echoed in every ID token of the grant (§3.1.2.1, §12.2). */
  nonce?: string;
  /** The prompt values sent, in order, each once; unknown values are left out (§3.1.2.1 "MAY ... ignore"). */
  prompt?: Prompt[];
  /** Seconds: a sign-in older than this asks for the password again (§3.1.2.1). */
  maxAge?: number;
  /** Fills in the username on the sign-in page (§3.1.2.1). */
  loginHint?: string;
  /** An ID token this server issued: the person it names must be the one signed in (§3.1.2.1). */
  idTokenHint?: string;
}

/** Whether a request's scope values make it an OpenID Connect authentication request (§3.1.2.1). */
export function isOpenIdRequest(scopes: readonly string[] | undefined): boolean {
  return scopes?.includes('openid') ?? false;
}

function parsePrompt(value: string | undefined): Prompt[] | undefined {
  if (value === undefined) return undefined;
  const values = [...new Set(value.split(' ').filter((v) => v !== ''))];
  // §3.1.2.1: "If this parameter contains none with any other value, an error is returned."
  if (values.includes('none') && values.length > 1) {
    throw invalidRequest('prompt=none cannot be combined with other prompt values');
  }
  const known = values.filter((v): v is Prompt => (PROMPT_VALUES as readonly string[]).includes(v));
  return known.length > 0 ? known : undefined;
}

function parseMaxAge(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value)) throw invalidRequest('max_age must be a whole number of seconds');
  return Number(value);
}

/**
 * The OpenID Connect fields of an authorization request whose scope holds `openid`
 * (none otherwise). Throws a redirectable OAuthError: by now the client and its redirect
 * URI are established.
 */
export function openIdParameters(params: Params, scopes: readonly string[] | undefined): OpenIdRequest {
  if (!isOpenIdRequest(scopes)) return {};
  if (single(params, 'request') !== undefined) {
    throw new OAuthError('request_not_supported', 'Request objects are not supported: send the parameters as such');
  }
  if (single(params, 'request_uri') !== undefined) {
    throw new OAuthError('request_uri_not_supported', 'request_uri is not supported: send the parameters as such');
  }
  if (single(params, 'registration') !== undefined) {
    throw new OAuthError('registration_not_supported', 'The registration parameter is not supported');
  }
  const nonce = single(params, 'nonce');
  const prompt = parsePrompt(single(params, 'prompt'));
  const maxAge = parseMaxAge(single(params, 'max_age'));
  const loginHint = single(params, 'login_hint');
  const idTokenHint = single(params, 'id_token_hint');
  return {
    ...(nonce !== undefined && { nonce }),
    ...(prompt !== undefined && { prompt }),
    ...(maxAge !== undefined && { maxAge }),
    ...(loginHint !== undefined && { loginHint }),
    ...(idTokenHint !== undefined && { idTokenHint }),
  };
}
