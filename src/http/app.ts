/**
 * buildApp(config, store): the whole web surface as one Fastify instance, built but not
 * listening. Cross-cutting concerns (form parsing, headers, request log, errors) are set
 * up here; each endpoint is its own plugin. Features are wired here too: without
 * `demo` the demo has no route at all, and its clients and people are refused
 * (services/demo-data.ts).
 */
import cookie from '@fastify/cookie';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { EndpointName } from '../oauth/endpoints.js';
import { parseFormBody } from '../oauth/params.js';
import { keySealer } from '../oauth/key-seal.js';
import { defaultProvider, type Provider } from '../oauth/provider.js';
import { keyStore, type KeyStore } from '../oauth/signing-keys.js';
import { DEFAULT_LIMITS, type Limits, type TrustProxy } from '../config.js';
import { MAX_ACCESS_TOKEN_LIFETIME } from '../oauth/tokens.js';
import type { Store } from '../store/store.js';
import { demoRoutes } from '../demo/routes.js';
import { withoutDemoData } from '../services/demo-data.js';
import type { AppConfig, RouteContext } from './context.js';
import { capConnections, serverTimeouts } from './connection-limits.js';
import { answerWhileClosing, clientErrorHandler, frameworkErrors } from './framework-errors.js';
import { RateLimiter } from './rate-limit.js';
import { errorHandler, sendJson, sendJsonError, sendPage } from './replies.js';
import { addSecurityHeaders } from './security-headers.js';
import { assetRoutes } from './routes/assets.js';
import { authorizeRoutes } from './routes/authorize.js';
import { consentRoutes } from './routes/consent.js';
import { discoveryRoutes, openIdDiscoveryRoutes } from './routes/discovery.js';
import { homeRoutes } from './routes/home.js';
import { introspectRoutes } from './routes/introspect.js';
import { jwksRoutes } from './routes/jwks.js';
import { logoutRoutes } from './routes/logout.js';
import { resourceRoutes } from './routes/resource.js';
import { revokeRoutes } from './routes/revoke.js';
import { signInRoutes } from './routes/sign-in.js';
import { tokenRoutes } from './routes/token.js';
import { userinfoRoutes } from './routes/userinfo.js';
import { notFoundPage } from './views/error.js';

/** A request body over 64 KiB is refused (413, never a 5xx). */
export const BODY_LIMIT = 64 * 1024;

export interface BuildOptions {
  /** A pino logger; default none (tests). */
  logger?: FastifyBaseLogger;
  /** The clock in milliseconds; default Date.now. */
  now?: () => number;
  /**
   * Which proxies' `X-Forwarded-For/-Proto/-Host` to believe for `request.ip`,
   * `request.protocol` and `request.host` (Fastify's `trustProxy`); default none.
   */
  trustProxy?: TrustProxy;
  /** What the protocol has (oauth/provider.ts); default `defaultProvider`. */
  provider?: Provider;
  /**
   * The signing keys (oauth/signing-keys.ts); default a key store on `store` that keeps
   * new private keys unsealed and reads the keys every 30 seconds.
   */
  keys?: KeyStore;
  /**
   * Timeouts, connection caps and rate limits (connection-limits.ts, rate-limit.ts);
   * default DEFAULT_LIMITS, as `serve` has them.
   */
  limits?: Limits;
}

/**
 * One line per request: client address (the proxy's X-Forwarded-For when trusted), method,
 * route, status, duration — never the query string or a body.
 */
function addRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        ip: request.ip,
        method: request.method,
        route: request.routeOptions.url ?? 'unknown',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
    done();
  });
}

/**
 * Fastify's `trustProxy` for ours. A hop count becomes "trust the N nearest hops" (as
 * proxy-addr does): Fastify itself now treats a number as "trust none".
 */
function fastifyTrustProxy(
  trust: TrustProxy | undefined,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return trust ?? false;
}

function addFormParser(app: FastifyInstance): void {
  // Read as bytes: bytes that are not UTF-8 are refused, not seen as U+FFFD (params.ts).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, parseFormBody(body as Buffer)),
  );
  // Other bodies are read (within the limit) but not interpreted: the routes answer
  // with their own invalid_request rather than Fastify's 415.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => done(null, undefined));
}

function addFallbacks(app: FastifyInstance): void {
  app.setNotFoundHandler(async (request, reply) => {
    if (request.headers.accept?.includes('text/html')) {
      return sendPage(reply, 404, notFoundPage());
    }
    return sendJson(reply, 404, { error: 'not_found', error_description: 'There is nothing at this path' });
  });
  // Other families set their own (replies.ts): what is left is plain JSON.
  app.setErrorHandler(errorHandler(sendJsonError));
}

/** The routes of each endpoint the provider has: an endpoint it does not list has none. */
const ENDPOINT_ROUTES: Record<EndpointName, FastifyPluginAsync<RouteContext>[]> = {
  // The authorization endpoint, and the pages where the person signs in and consents.
  authorization: [authorizeRoutes, signInRoutes, consentRoutes],
  token: [tokenRoutes],
  introspection: [introspectRoutes],
  revocation: [revokeRoutes],
  resource: [resourceRoutes],
  discovery: [discoveryRoutes],
  jwks: [jwksRoutes],
  userinfo: [userinfoRoutes],
  'openid-discovery': [openIdDiscoveryRoutes],
  logout: [logoutRoutes],
};

export async function buildApp(config: AppConfig, store: Store, options: BuildOptions = {}): Promise<FastifyInstance> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // Node's own header limit (16 KiB) bounds the URL; oversized values are refused by oauth/params.
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: false },
    // answerWhileClosing answers instead, with our headers.
    return503OnClosing: false,
    trustProxy: fastifyTrustProxy(options.trustProxy),
    // The framework's own answers (a bad URL, a request Node cannot parse) in our format.
    frameworkErrors,
    clientErrorHandler,
    // A request that arrives too slowly is answered 408 by clientErrorHandler and closed.
    ...serverTimeouts(limits),
  });
  capConnections(app.server, {
    perAddress: limits.connectionsPerAddress,
    total: limits.maxConnections,
    log: app.log,
    ...(options.trustProxy !== undefined && { trustProxy: options.trustProxy }),
  });

  const now = options.now ?? Date.now;
  const keys =
    options.keys ?? keyStore(store, { sealer: keySealer(undefined), tokenLifetime: MAX_ACCESS_TOKEN_LIFETIME, now });
  const ctx: RouteContext = {
    config,
    // Without the demo, its clients and people (whose password is published) do not exist.
    store: config.demo ? store : withoutDemoData(store),
    provider: options.provider ?? defaultProvider(config.lifetimes, { keys, audience: config.audience }),
    keys,
    cookies: { secure: config.issuer.startsWith('https:') },
    now,
    ...(limits.rateLimit > 0 && { rateLimiter: new RateLimiter({ perMinute: limits.rateLimit, now }) }),
  };

  await app.register(cookie, { secret: config.secret });
  addFormParser(app);
  addSecurityHeaders(app);
  addRequestLog(app);
  answerWhileClosing(app);
  addFallbacks(app);

  await app.register(assetRoutes);
  await app.register(homeRoutes, ctx);
  for (const name of ctx.provider.endpoints.keys()) {
    for (const routes of ENDPOINT_ROUTES[name]) await app.register(routes, ctx);
  }
  if (config.demo) await app.register(demoRoutes, ctx);
  return app;
}
