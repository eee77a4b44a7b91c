/**
 * Client authentication at the token endpoint (RFC 6749 §2.3, §3.2.1): HTTP Basic
 * (`client_secret_basic`, with RFC 6749 §2.3.1's form-urlencoding inside the base64),
 * `client_secret` in the body (`client_secret_post`), or nothing but `client_id` for a
 * public client (`none`). Using two methods at once is refused (§2.3). A failure is
 * invalid_client, 401: the HTTP layer adds the Basic challenge RFC 6749 §5.2 requires
 * after Basic was tried (it gives one on every 401).
 *
 * A confidential client's secret may have been rotated with a grace period (`tessera
 * client rotate-secret --grace`): the previous secret then authenticates it too, until the
 * grace ends. Both hashes are compared every time, in constant time, so the answer's
 * timing tells nothing about which secret was sent or whether there is a previous one.
 */
import { invalidClient, invalidRequest } from './errors.js';
import { single, type Params } from './params.js';
import { hashesMatch, hashSecret } from './tokens.js';
import type { ClientRecord, Store } from '../store/store.js';

export interface BasicCredentials {
  clientId: string;
  secret: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * RFC 6749 §2.3.1 / Appendix B: the application/x-www-form-urlencoded decoding. A value
 * that is not UTF-8 throws (decodeURIComponent), and so does one holding U+0000: no store
 * is ever asked about it (PostgreSQL refuses NUL in text).
 */
function formDecode(value: string): string {
  // Most credentials (generated ids and secrets) hold nothing to decode.
  const plain = !value.includes('%') && !value.includes('+');
  const decoded = plain ? value : decodeURIComponent(value.replace(/\+/g, ' '));
  if (decoded.includes('\0')) throw new URIError('NUL in a Basic credential');
  return decoded;
}

/** Parses an Authorization header; undefined when it is not Basic. */
export function parseBasic(header: string | undefined): BasicCredentials | undefined {
  if (header === undefined) return undefined;
  const match = /^basic +([A-Za-z0-9+/=._~-]*) *$/i.exec(header);
  if (!match) {
    if (/^basic\b/i.test(header)) throw invalidClient('The Basic credentials are malformed');
    return undefined;
  }
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(match[1] as string, 'base64'));
  } catch {
    throw invalidClient('The Basic credentials are not UTF-8');
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('The Basic credentials are malformed');
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw invalidClient('The Basic credentials are not properly form-urlencoded');
  }
}

/** The client authentication methods (RFC 7591 §2 names), as metadata lists them. */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;

export interface AuthenticatedClient {
  client: ClientRecord;
  method: (typeof CLIENT_AUTH_METHODS)[number];
}

/** Whether `secret` is the client's secret, or its previous one while the rotation's grace lasts. */
export function clientSecretMatches(
  secret: string,
  client: Pick<ClientRecord, 'secretHash' | 'previousSecret'>,
  now: number,
): boolean {
  if (client.secretHash === null) return false;
  const presented = hashSecret(secret);
  const current = hashesMatch(presented, client.secretHash);
  const previous = client.previousSecret;
  // Compared whether or not it is still in its grace, and whatever the first answer was.
  const old = hashesMatch(presented, previous ? previous.hash : client.secretHash);
  return current || (previous != null && old && previous.expiresAt > now);
}

export async function authenticateClient(
  params: Params,
  authorization: string | undefined,
  store: Pick<Store, 'getClient'>,
  now: number = Date.now(),
): Promise<AuthenticatedClient> {
  const basic = parseBasic(authorization);
  const bodyId = single(params, 'client_id');
  const bodySecret = single(params, 'client_secret');
  if (authorization !== undefined && !basic) {
    throw invalidRequest('Only HTTP Basic client authentication is supported in the Authorization header');
  }
  if (basic && bodySecret !== undefined) {
    throw invalidRequest('The client authenticated in two ways at once (Basic and client_secret)');
  }
  if (basic && bodyId !== undefined && bodyId !== basic.clientId) {
    throw invalidRequest('client_id in the body does not match the Basic credentials');
  }
  const clientId = basic?.clientId ?? bodyId;
  if (clientId === undefined) throw invalidClient('Client authentication is missing: send client_id');
  const secret = basic ? basic.secret : bodySecret;
  const client = await store.getClient(clientId);
  if (!client || client.disabledAt !== null) throw invalidClient('Client authentication failed');

  if (client.secretHash === null) {
    // A public client has no secret; an empty Basic password is how some libraries say so.
    if (secret !== undefined && secret !== '') throw invalidClient('Client authentication failed');
    return { client, method: 'none' };
  }
  if (secret === undefined || !clientSecretMatches(secret, client, now))
    throw invalidClient('Client authentication failed');
  return { client, method: basic ? 'client_secret_basic' : 'client_secret_post' };
}
