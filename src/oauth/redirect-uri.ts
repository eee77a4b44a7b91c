/**
 * Redirect URI rules: what a client may register, and whether a `redirect_uri` sent in
 * an authorization request names one of its registered URIs.
 *
 * Implements RFC 6749 §3.1.2 (absolute URI, no fragment, query kept), RFC 9700 §4.1.3
 * (exact string matching, no wildcards, no http: except loopback) and RFC 8252 §7.1
 * (private-use URI schemes for mobile apps) and §7.3 (loopback redirects on any port),
 * with PKB's one allowance: the client may add query parameters on top of the
 * registered URI's own.
 *
 * Framework-free and without I/O, so the HTTP layer and the CLI share one rule.
 */
import { invalidRequest } from './errors.js';

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/** Schemes that run code or read local data in the browser instead of navigating to a client. */
const FORBIDDEN_SCHEMES = new Set(['javascript', 'data', 'file', 'vbscript', 'blob']);

/** RFC 8252 §7.3 / §8.3 loopback hosts; no other name or address counts as loopback. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Parameters the authorization response itself puts in the query. A redirect URI that
 * already carries one would reach the client with two values, and a client that reads
 * the first would take the attacker's (code injection, RFC 9700 §4.5).
 */
const RESPONSE_PARAMETERS = new Set(['code', 'state', 'error', 'error_description', 'error_uri', 'iss']);

/** Characters RFC 3986 allows anywhere in a URI (unreserved, gen-delims, sub-delims, `%`). */
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;

// ---------------------------------------------------------------------------------------
// Syntax helpers
// ---------------------------------------------------------------------------------------

/** Why `uri` is not a well-formed absolute URI at the character level, or undefined. */
function syntaxProblem(uri: string): string | undefined {
  if (uri === '') return 'redirect URI must not be empty';
  if (/[\x00-\x20\x7f]/.test(uri)) return 'redirect URI must not contain spaces or control characters';
  if (/[^\x00-\x7f]/.test(uri)) return 'redirect URI must contain only ASCII characters (percent-encode others)';
  // Browsers read `\` as `/` in http(s) URIs, so `https://a.example\@evil.example` is a trap.
  if (uri.includes('\\')) return 'redirect URI must not contain a backslash';
  if (!URI_CHARACTERS.test(uri)) return 'redirect URI contains characters not allowed in a URI (percent-encode them)';
  if (/%(?![0-9A-Fa-f]{2})/.test(uri)) return 'redirect URI contains a % that is not followed by two hex digits';
  if (!SCHEME.test(uri)) return 'redirect URI must be an absolute URI starting with a scheme such as https:';
  return undefined;
}

function schemeOf(uri: string): string {
  return (SCHEME.exec(uri)?.[1] ?? '').toLowerCase();
}

/** The URI split at its first `?`; `query` is undefined when there is no `?`. */
function splitQuery(uri: string): { base: string; query: string | undefined } {
  const at = uri.indexOf('?');
  return at < 0 ? { base: uri, query: undefined } : { base: uri.slice(0, at), query: uri.slice(at + 1) };
}

interface Hierarchical {
  scheme: string;
  authority: string;
  path: string;
}

/** `scheme://authority/path` parts of a base (no query, no fragment), or undefined when there is no `//`. */
function splitHierarchical(base: string): Hierarchical | undefined {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(.*)$/.exec(base);
  return m ? { scheme: m[1] ?? '', authority: m[2] ?? '', path: m[3] ?? '' } : undefined;
}

/** Host and port of an authority without userinfo, or undefined when it does not parse. */
function splitHostPort(authority: string): { host: string; port: string | undefined } | undefined {
  // An IP literal is bracketed so that the colons of an IPv6 address are not read as a port.
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]*)(?::(.*))?$/.exec(authority);
  return m ? { host: m[1] ?? '', port: m[2] } : undefined;
}

function isValidPort(port: string): boolean {
  return /^[0-9]{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535;
}

/** Query segments, without the empty ones that `a=1&&b=2` or a bare `?` leave. */
function querySegments(query: string | undefined): string[] {
  return (query ?? '').split('&').filter((s) => s !== '');
}

/** A segment's parameter name as a form-decoding client reads it (`t%65nant` is `tenant`). */
function decodedName(segment: string): string {
  const raw = (segment.split('=', 1)[0] ?? '').replace(/\+/g, ' ');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // invalid UTF-8 escapes: compare the raw text
  }
}

// ---------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------

function authorityProblem(uri: string): string | undefined {
  const parts = splitHierarchical(splitQuery(uri).base);
  if (!parts) return undefined;
  // userinfo lets `https://trusted.example@evil.example` look like the trusted host.
  if (parts.authority.includes('@')) return 'redirect URI must not contain userinfo (user@host)';
  const hostPort = splitHostPort(parts.authority);
  if (!hostPort) return 'redirect URI has a malformed host';
  if (hostPort.port !== undefined && !isValidPort(hostPort.port)) {
    return 'redirect URI port must be a number from 1 to 65535';
  }
  const web = ['http', 'https'].includes(parts.scheme.toLowerCase());
  if (web && hostPort.host === '') return 'redirect URI must name a host';
  return undefined;
}

function webSchemeProblem(uri: string): string | undefined {
  const scheme = schemeOf(uri);
  if (scheme !== 'http' && scheme !== 'https') return undefined;
  const parts = splitHierarchical(splitQuery(uri).base);
  if (!parts) return `redirect URI must be of the form ${scheme}://host/path`;
  const host = splitHostPort(parts.authority)?.host.toLowerCase() ?? '';
  if (scheme === 'http' && !LOOPBACK_HOSTS.has(host)) {
    return 'redirect URI must use https: (http: is only allowed for 127.0.0.1, [::1] and localhost)';
  }
  return undefined;
}

function customSchemeProblem(uri: string): string | undefined {
  const rest = uri.slice(schemeOf(uri).length + 1);
  if (rest === '') return 'redirect URI must have something after the scheme';
  // `localhost:8080/cb` parses as scheme `localhost`: almost always a forgotten http://.
  if (/^[0-9]+(\/|$)/.test(rest)) return 'redirect URI looks like host:port without a scheme (add https://)';
  return undefined;
}

function queryProblem(uri: string): string | undefined {
  const clash = querySegments(splitQuery(uri).query)
    .map(decodedName)
    .find((name) => RESPONSE_PARAMETERS.has(name));
  return clash === undefined
    ? undefined
    : `redirect URI query must not contain ${clash}, which the authorization response sets`;
}

/** Registration rules in the order their reasons are reported; the first failure wins. */
const REGISTRATION_RULES: ReadonlyArray<(uri: string) => string | undefined> = [
  (uri) =>
    FORBIDDEN_SCHEMES.has(schemeOf(uri)) ? `redirect URI must not use the ${schemeOf(uri)}: scheme` : undefined,
  syntaxProblem,
  (uri) => (uri.includes('#') ? 'redirect URI must not contain a fragment' : undefined),
  (uri) => (uri.includes('*') ? 'redirect URI must not contain wildcards (*)' : undefined),
  customSchemeProblem,
  authorityProblem,
  webSchemeProblem,
  queryProblem,
];

/**
 * Whether `uri` may be registered as a client's redirect URI. Returns undefined when
 * acceptable, else a one-line reason for the person registering the client.
 */
export function checkRegistrableRedirectUri(uri: string): string | undefined {
  for (const rule of REGISTRATION_RULES) {
    const reason = rule(uri);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------

/** Why a `redirect_uri` from a request can never match, as a public error description. */
function givenProblem(given: string): string | undefined {
  if (syntaxProblem(given) !== undefined) {
    return 'redirect_uri is malformed: it must be an absolute URI without spaces or control characters';
  }
  if (given.includes('#')) return 'redirect_uri must not contain a fragment';
  return undefined;
}

/** The registered base is an http loopback URI whose port a native app picks at run time. */
function isLoopback(registeredBase: string): boolean {
  const parts = splitHierarchical(registeredBase);
  if (!parts || parts.scheme.toLowerCase() !== 'http') return false;
  const host = splitHostPort(parts.authority)?.host.toLowerCase();
  return host !== undefined && LOOPBACK_HOSTS.has(host);
}

/** The base with its port removed, or undefined when the port is not a valid one. */
function withoutPort(base: string): string | undefined {
  const parts = splitHierarchical(base);
  const hostPort = parts && splitHostPort(parts.authority);
  if (!parts || !hostPort) return undefined;
  if (hostPort.port !== undefined && !isValidPort(hostPort.port)) return undefined;
  return `${parts.scheme}://${hostPort.host}${parts.path}`;
}

/** Character-for-character equality; for http loopback (RFC 8252 §7.3) the port alone may differ. */
function baseMatches(given: string, registered: string): boolean {
  if (given === registered) return true;
  if (!isLoopback(registered)) return false;
  const stripped = withoutPort(given);
  return stripped !== undefined && stripped === withoutPort(registered);
}

/**
 * Every registered pair is present unchanged; added pairs may neither give a registered
 * parameter a second value nor pre-empt a parameter of the authorization response.
 */
function queryMatches(givenQuery: string | undefined, registeredQuery: string | undefined): boolean {
  const given = querySegments(givenQuery);
  const registered = new Set(querySegments(registeredQuery));
  if (![...registered].every((pair) => given.includes(pair))) return false;
  const registeredNames = new Set([...registered].map(decodedName));
  return given
    .filter((pair) => !registered.has(pair))
    .map(decodedName)
    .every((name) => !registeredNames.has(name) && !RESPONSE_PARAMETERS.has(name));
}

/** Whether the `redirect_uri` of a request names the registered URI `registered`. */
export function redirectUriMatches(given: string, registered: string): boolean {
  if (givenProblem(given) !== undefined) return false;
  // A stored URI that registration would refuse (older rules, hand-edited data) matches nothing.
  if (checkRegistrableRedirectUri(registered) !== undefined) return false;
  const g = splitQuery(given);
  const r = splitQuery(registered);
  return baseMatches(g.base, r.base) && queryMatches(g.query, r.query);
}

// ---------------------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------------------

/** These errors are never redirectable: the redirect URI is exactly what is in doubt. */
function refuse(description: string): never {
  throw invalidRequest(description, { redirectable: false });
}

/**
 * The redirect URI for the authorization response. Throws a non-redirectable
 * invalid_request when it is missing where required, malformed or not registered.
 */
export function resolveRedirectUri(given: string | undefined, registered: readonly string[]): string {
  if (registered.length === 0) refuse('this client has no registered redirect URI');
  // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
  if (given === undefined || given === '') return theOnlyRegistered(registered);
  const problem = givenProblem(given);
  if (problem !== undefined) refuse(problem);
  if (!registered.some((uri) => redirectUriMatches(given, uri))) {
    refuse('redirect_uri is not registered for this client');
  }
  return given;
}

function theOnlyRegistered(registered: readonly string[]): string {
  const [only] = registered;
  if (registered.length > 1 || only === undefined) {
    refuse('redirect_uri is required because this client has several registered');
  }
  if (checkRegistrableRedirectUri(only) !== undefined)
    refuse('the registered redirect URI of this client is not valid');
  return only;
}
