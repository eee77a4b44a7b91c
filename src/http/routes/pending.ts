/**
 * Loading the pending authorization that a sign-in or consent page works on, with the
 * checks every step repeats: it exists and has not expired, this is the browser that
 * started it, and (for form posts) the CSRF token is right. Failures become a page.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthorizationRequest } from '../../oauth/authorize.js';
import { single, type Params } from '../../oauth/params.js';
import { eligibleRoles, type Role } from '../../oauth/scope.js';
import { hashSecret } from '../../oauth/tokens.js';
import type { ClientRecord, PendingAuthorizationRecord, PersonRecord } from '../../store/store.js';
import { BROWSER_COOKIE, csrfMatches, csrfToken, isSameBrowser, sessionCookieValue } from '../browser.js';
import type { RouteContext } from '../context.js';
import { sendPage } from '../replies.js';
import { errorPage } from '../views/error.js';

export interface PendingContext {
  pending: PendingAuthorizationRecord;
  request: AuthorizationRequest;
  client: ClientRecord;
  csrf: string;
}

function problemPage(reply: FastifyReply, status: number, title: string, message: string): undefined {
  sendPage(reply, status, errorPage({ status, title, message }));
  return undefined;
}

/** The scheme named last in a proxy's X-Forwarded-Proto, if it sent one. */
function forwardedProto(request: FastifyRequest): string | undefined {
  const header = request.headers['x-forwarded-proto'];
  const value = Array.isArray(header) ? header.at(-1) : header;
  return value?.split(',').at(-1)?.trim().toLowerCase() || undefined;
}

/**
 * Why the browser-binding cookie did not come back, as far as this request tells: a line
 * that names the likely cause for the operator's log (with the facts behind it), and a
 * plain message for the person.
 */
export function missingCookieCause(
  ctx: RouteContext,
  request: FastifyRequest,
): { operator: string; person: string; facts: Record<string, unknown> } {
  const present = request.cookies[BROWSER_COOKIE] !== undefined;
  const cookieHeader = request.headers.cookie !== undefined && request.headers.cookie !== '';
  const forwarded = forwardedProto(request);
  const facts = {
    cookie: BROWSER_COOKIE,
    present,
    cookieHeader,
    protocol: request.protocol,
    ...(forwarded !== undefined && { forwardedProto: forwarded }),
    secureCookies: ctx.cookies.secure,
  };
  const startAgain = 'Then go back to the app and start again.';
  if (present) {
    return {
      operator:
        'the cookie is from another browser or an earlier sign-in (the sign-in link was opened in another browser or profile, or copied)',
      person: `This sign-in was started in another browser or window. Use the same browser from start to finish. ${startAgain}`,
      facts,
    };
  }
  if (ctx.cookies.secure && request.protocol === 'http') {
    const untrusted = forwarded === 'https';
    return {
      operator: untrusted
        ? 'the issuer is https, and a proxy says the browser used https (X-Forwarded-Proto), but that header is not believed: start Tessera with --trust-proxy naming the proxy'
        : `the issuer (${ctx.config.issuer}) is https, so the cookie is Secure, but this request came over http: browsers neither keep nor send Secure cookies over http. Serve Tessera only over https (redirect http to https); behind a TLS-terminating proxy, have it send X-Forwarded-Proto and start Tessera with --trust-proxy`,
      person: untrusted
        ? `This site is set up wrongly, so your browser's cookie could not be checked. Please tell the site's operator. ${startAgain}`
        : `This page was opened over an unencrypted (http) address, and this site's cookies only work over https. Use the https address, ${ctx.config.issuer}. ${startAgain}`,
      facts,
    };
  }
  if (!cookieHeader) {
    return {
      operator:
        'the request carried no Cookie header at all: the browser blocks cookies for this site, or a proxy in front strips the Cookie header',
      person: `Your browser did not send back the cookie this site set, so it could not recognise you. Allow cookies for this site. ${startAgain}`,
      facts,
    };
  }
  return {
    operator: `other cookies came back but not ${BROWSER_COOKIE}: the browser refused or dropped it (blocked, expired, or set at another address than this one), or a proxy filters cookies`,
    person: `Your browser did not send back the cookie this site set, so it could not recognise you. Allow cookies for this site and use the same address from start to finish. ${startAgain}`,
    facts,
  };
}

/**
 * The pending authorization named by `requestId`, or undefined after sending the page
 * that explains why the person cannot go on. With `form`, the CSRF token is checked too.
 */
export async function loadPending(
  ctx: RouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
  requestId: string | undefined,
  form?: Params,
): Promise<PendingContext | undefined> {
  const pending = requestId ? await ctx.store.getPendingAuthorization(requestId, ctx.now()) : undefined;
  if (!pending) {
    return problemPage(
      reply,
      400,
      'This sign-in has expired',
      'This sign-in link is no longer valid: it has expired or was already used. Go back to the app and start again.',
    );
  }
  if (!isSameBrowser(request, pending.browserHash)) {
    const cause = missingCookieCause(ctx, request);
    request.log.warn(cause.facts, `sign-in cookie did not come back: ${cause.operator}`);
    return problemPage(reply, 400, 'Your browser did not send our cookie', cause.person);
  }
  const csrf = csrfToken(ctx.config.secret, pending.id, pending.browserHash);
  if (form && !csrfMatches(ctx.config.secret, pending.id, pending.browserHash, single(form, 'csrf'))) {
    return problemPage(
      reply,
      403,
      'This form has expired',
      'The form could not be verified. Go back to the app and start again.',
    );
  }
  const client = await ctx.store.getClient(pending.clientId);
  if (!client || client.disabledAt !== null) {
    return problemPage(
      reply,
      400,
      'This app is no longer available',
      'The app that sent you here is no longer registered.',
    );
  }
  return { pending, request: JSON.parse(pending.request) as AuthorizationRequest, client, csrf };
}

/** The person signed in on this browser, if any. */
export async function signedInPerson(ctx: RouteContext, request: FastifyRequest): Promise<PersonRecord | undefined> {
  const value = sessionCookieValue(request);
  if (!value) return undefined;
  const session = await ctx.store.getSignInSession(hashSecret(value), ctx.now());
  const person = session && (await ctx.store.getPerson(session.personId));
  return person && person.disabledAt === null ? person : undefined;
}

export function rolesFor(person: PersonRecord, flow: PendingContext): Role[] {
  return eligibleRoles(person.roles as Role[], flow.client.scopes as Role[], flow.request.role);
}

export function loginUrl(requestId: string, error?: string): string {
  return `/login?request=${encodeURIComponent(requestId)}${error ? `&error=${error}` : ''}`;
}

export function consentUrl(requestId: string): string {
  return `/consent?request=${encodeURIComponent(requestId)}`;
}
