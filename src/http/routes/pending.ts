/**
 * Loading the pending authorization that a sign-in or consent page works on, with the
 * checks every step repeats: it exists and has not expired, this is the browser that
 * started it, and (for form posts) the CSRF token is right. Failures become a page.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { readIdTokenHint } from '../../oauth/id-token-hint.js';
import {
  findInteraction,
  interactionClient,
  type Interaction,
  type InteractionDeps,
  type NextStep,
  type StepDeps,
} from '../../oauth/interaction.js';
import { single, type Params } from '../../oauth/params.js';
import { DEFAULT_THROTTLE } from '../../oauth/sign-in-throttle.js';
import type { ClientRecord } from '../../store/store.js';
import { BROWSER_COOKIE, csrfMatches, csrfToken, finishedHow, isSameBrowser, type Finish } from '../browser.js';
import type { RouteContext } from '../context.js';
import { logAuthorized } from '../events.js';
import { issuerFor } from '../issuer.js';
import { sendPage } from '../replies.js';
import { errorPage, type PlainWords } from '../views/error.js';

const START_AGAIN = 'Go back to the app and start signing in again.';

export interface PendingContext extends Interaction {
  client: ClientRecord;
  csrf: string;
}

function problemPage(reply: FastifyReply, status: number, words: PlainWords & { tone?: 'info' }): undefined {
  sendPage(reply, status, errorPage({ status, ...words }));
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
  if (present) {
    return {
      operator:
        'the cookie is from another browser or an earlier sign-in (the sign-in link was opened in another browser or profile, or copied)',
      person: `This sign-in was started in another browser or window, so this browser's cookie is not the one for it. Use the same browser from start to finish.`,
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
        ? `This site is set up wrongly, so your browser's cookie could not be checked. Please tell the site's operator.`
        : `This page was opened over an unencrypted (http) address, and this site's cookies only work over https. Use the https address, ${ctx.config.issuer}.`,
      facts,
    };
  }
  if (!cookieHeader) {
    return {
      operator:
        'the request carried no Cookie header at all: the browser blocks cookies for this site, or a proxy in front strips the Cookie header',
      person: `Your browser did not send back the cookie this site set, so it could not recognise you. Allow cookies for this site.`,
      facts,
    };
  }
  return {
    operator: `other cookies came back but not ${BROWSER_COOKIE}: the browser refused or dropped it (blocked, expired, or set at another address than this one), or a proxy filters cookies`,
    person: `Your browser did not send back the cookie this site set, so it could not recognise you. Allow cookies for this site and use the same address from start to finish.`,
    facts,
  };
}

/** What the interaction module needs from a route: the store, lifetimes, the throttle and the time. */
export function interactionDeps(ctx: RouteContext): InteractionDeps {
  return { store: ctx.store, lifetimes: ctx.config.lifetimes, throttle: DEFAULT_THROTTLE, now: ctx.now() };
}

/**
 * What the interaction policy needs from a route besides interactionDeps: how to complete
 * an authorization, and how to read an `id_token_hint` (this server's issuer as the
 * request reached it, and the keys it publishes).
 */
export function stepDeps(ctx: RouteContext, request: FastifyRequest): StepDeps {
  const issuer = issuerFor(ctx, request);
  return {
    ...interactionDeps(ctx),
    store: ctx.store,
    tokens: ctx.provider.tokens,
    responseTypes: ctx.provider.responseTypes,
    issuer,
    readHint: async (hint) => readIdTokenHint(hint, issuer, await ctx.keys.jwks()),
  };
}

/** A sign-in that is no longer open and was not finished in this browser: it ran out of time. */
function expiredPage(ctx: RouteContext, reply: FastifyReply): undefined {
  const minutes = Math.round(ctx.config.lifetimes.pendingAuthorization / 60);
  return problemPage(reply, 400, {
    title: 'Your sign-in took too long',
    message: `To keep your account safe, a sign-in has to be finished within ${minutes} minutes of starting it, and this one is no longer open.`,
    next: START_AGAIN,
  });
}

const FINISHED: Record<Finish, string> = {
  allow: 'You already chose Allow, and Tessera sent your answer to the app.',
  deny: 'You already chose Deny, and Tessera told the app.',
  cancel: 'You already cancelled this sign-in, and Tessera told the app.',
};

/**
 * The page for a sign-in that was already answered (the Back button after Allow, a form
 * sent twice): nothing went wrong, the page is simply no longer needed.
 */
export function finishedPage(reply: FastifyReply, how: Finish | undefined): undefined {
  return problemPage(reply, 400, {
    title: 'This sign-in is already finished',
    tone: 'info',
    message: how ? FINISHED[how] : 'This sign-in has already been answered, so this page is no longer needed.',
    next: 'Go back to the app to carry on. To sign in again, start again from the app.',
  });
}

/** A pending authorization that is not open: finished in this browser, or else expired. */
function closedPage(
  ctx: RouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
  requestId: string | undefined,
): undefined {
  const how = finishedHow(request, requestId);
  return how ? finishedPage(reply, how) : expiredPage(ctx, reply);
}

/**
 * Sends the browser where the interaction policy says (oauth/interaction.ts nextStep):
 * the sign-in page, the consent page, or the client; `status` is the redirect's (302 from
 * the authorization endpoint, 303 after a form post).
 */
export function redirectTo(reply: FastifyReply, requestId: string, step: NextStep, status: 302 | 303): FastifyReply {
  switch (step.show) {
    case 'login':
      return reply.redirect(loginUrl(requestId, step.problem), status);
    case 'consent':
      return reply.redirect(consentUrl(requestId), status);
    case 'client':
      if (step.authorized) logAuthorized(reply.request, step.authorized, 'consent_skipped');
      return reply.redirect(step.location, status);
    case 'expired':
      // Taken meanwhile: another tab or a second submission answered it first.
      finishedPage(reply, undefined);
      return reply;
  }
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
  const deps = interactionDeps(ctx);
  const interaction = await findInteraction(deps, requestId);
  if (!interaction) return closedPage(ctx, request, reply, requestId);
  const { pending } = interaction;
  if (!isSameBrowser(request, pending.browserHash)) {
    const cause = missingCookieCause(ctx, request);
    request.log.warn(cause.facts, `sign-in cookie did not come back: ${cause.operator}`);
    return problemPage(reply, 400, {
      title: 'Tessera could not recognise your browser',
      message: cause.person,
      next: START_AGAIN,
    });
  }
  const csrf = csrfToken(ctx.config.secret, pending.id, pending.browserHash);
  if (form && !csrfMatches(ctx.config.secret, pending.id, pending.browserHash, single(form, 'csrf'))) {
    return problemPage(reply, 403, {
      title: 'This form has expired',
      message:
        'To keep your account safe, Tessera accepts this form only from the page it showed you, and this one did not match.',
      next: START_AGAIN,
    });
  }
  const client = await interactionClient(deps, interaction);
  if (!client) {
    return problemPage(reply, 400, {
      title: 'This app is no longer available',
      message:
        'The app that sent you here has been removed or switched off at Tessera, so you cannot sign in to it now.',
      next: 'If the app asks you to sign in again, contact the people who run it.',
    });
  }
  return { ...interaction, client, csrf };
}

export function loginUrl(requestId: string, error?: string): string {
  return `/login?request=${encodeURIComponent(requestId)}${error ? `&error=${error}` : ''}`;
}

export function consentUrl(requestId: string): string {
  return `/consent?request=${encodeURIComponent(requestId)}`;
}
