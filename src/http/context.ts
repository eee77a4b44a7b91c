/** What every route plugin is given: the validated configuration and the store. */
import type { Lifetimes } from '../oauth/tokens.js';
import type { Provider } from '../oauth/provider.js';
import type { KeyStore } from '../oauth/signing-keys.js';
import type { Store } from '../store/store.js';
import type { RateLimiter } from './rate-limit.js';

export interface AppConfig {
  issuer: string;
  demo: boolean;
  lifetimes: Lifetimes;
  /**
   * Other addresses that are this same server when no issuer was configured (localhost
   * and 127.0.0.1 on the listening port): see issuer.ts.
   */
  issuerAliases?: string[];
  /**
   * The `aud` of JWT access tokens (RFC 9068 §2.2): the APIs they are meant for. Default:
   * the issuer.
   */
  audience?: string;
  /** Signs cookies and derives CSRF tokens; shared by every instance. */
  secret: string;
}

export interface RouteContext {
  config: AppConfig;
  store: Store;
  /** The response types, grants, endpoints and token service this server has (oauth/provider.ts). */
  provider: Provider;
  /** The signing keys: JWT access tokens are signed with them, the JWK Set publishes them. */
  keys: KeyStore;
  /** Cookies are Secure when the issuer is https. */
  cookies: { secure: boolean };
  /** The clock, in milliseconds; tests may fix it. */
  now: () => number;
  /** Requests per client address at the browser endpoints that write (rate-limit.ts); none: no limit. */
  rateLimiter?: RateLimiter;
}
