/**
 * What a response type is (RFC 6749 §3.1.1): one object per `response_type` value, looked
 * up by the authorization endpoint. It names the grant type a client must be registered
 * for, where its response parameters go (the query, RFC 6749 §4.1.2, or the fragment,
 * §4.2.2), its own request checks, and what it issues once the person has allowed it.
 */
import type { AuthorizationRequest, ResponseMode } from '../authorize.js';
import type { Params } from '../params.js';
import type { TokenService } from '../token-service.js';
import type { Lifetimes } from '../tokens.js';
import type { ClientRecord, GrantRecord, GrantType, Store } from '../../store/store.js';

export interface ResponseTypeDeps {
  store: Pick<Store, 'createGrantWithCode' | 'createGrantWithAccessToken'>;
  tokens: TokenService;
  lifetimes: Pick<Lifetimes, 'code'>;
  /** This server's issuer identifier as the request reached it (RFC 8414 §2). */
  issuer: string;
  now: number;
}

/** The request fields a response type adds after its own checks. */
export type ResponseTypeFields = Pick<AuthorizationRequest, 'codeChallenge'>;

export interface ResponseTypeHandler {
  responseType: string;
  /** The grant type a client must be registered for to use this response type. */
  grantType: GrantType;
  responseMode: ResponseMode;
  /** Metadata lines of the extensions it brings (RFC 8414 §2), e.g. PKCE's. */
  metadata?: Record<string, unknown>;
  /** Its own checks of the request (throwing a redirectable OAuthError); what it returns is kept with it. */
  validate(params: Params, client: ClientRecord): ResponseTypeFields;
  /** Stores the grant with what the response carries, and returns the response parameters. */
  issue(
    request: AuthorizationRequest,
    grant: GrantRecord,
    client: ClientRecord,
    deps: ResponseTypeDeps,
  ): Promise<Record<string, string | number>>;
}

export type ResponseTypeRegistry = ReadonlyMap<string, ResponseTypeHandler>;
