/**
 * The consent page: names the client and the role in plain words, and each other scope
 * asked for by its registered description; Allow issues the code
 * (or, for the implicit grant, the token) and Deny sends access_denied — both by a 303
 * to the redirect URI stored with the pending authorization; Cancel on the sign-in page is
 * the same no, without signing in. What is shown and what an
 * answer does are decided by oauth/interaction.ts.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { cancel, decide, describeRequestedScopes, nextStep, type SignedIn } from '../../oauth/interaction.js';
import { single } from '../../oauth/params.js';
import { ROLE_DESCRIPTIONS, ROLE_LABELS, type GrantRole } from '../../oauth/role-scope.js';
import { finishedHow, rememberFinished, sessionCookieValue, type Finish } from '../browser.js';
import type { RouteContext } from '../context.js';
import { logAuthorized, logRequestEvent } from '../events.js';
import { limitRequestRate } from '../rate-limit.js';
import { sendPage, sendSignInFailure } from '../replies.js';
import { formParams, queryParams } from '../request-params.js';
import { consentPage } from '../views/consent.js';
import { errorPage } from '../views/error.js';
import {
  consentUrl,
  finishedPage,
  interactionDeps,
  loadPending,
  redirectTo,
  stepDeps,
  type PendingContext,
} from './pending.js';

/**
 * The signed-in person the consent page is for, or undefined after sending the browser
 * where the interaction policy says instead (sign-in, or the client when no page is needed).
 */
async function consentingPerson(
  ctx: RouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
  flow: PendingContext,
): Promise<(SignedIn & { roles: GrantRole[] }) | undefined> {
  const step = await nextStep(stepDeps(ctx, request), flow, flow.client, sessionCookieValue(request));
  if (step.show !== 'consent') {
    redirectTo(reply, flow.pending.id, step, 303);
    return undefined;
  }
  return step;
}

const ALLOW_OR_DENY = {
  status: 400,
  title: 'Please answer Allow or Deny',
  message: 'Tessera did not receive your answer to this app.',
  next: 'Go back to the previous page and press Allow or Deny.',
} as const;

export const consentRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  // A failure no step answered (the database unreachable) is a page, never JSON.
  app.setErrorHandler(sendSignInFailure);
  limitRequestRate(app, ctx.rateLimiter, 'consent');

  async function showConsent(
    request: FastifyRequest,
    reply: FastifyReply,
    flow: PendingContext,
    who: SignedIn & { roles: GrantRole[] },
    chooseRole: boolean,
  ): Promise<FastifyReply> {
    const scopes = await describeRequestedScopes(interactionDeps(ctx), flow);
    return sendPage(
      reply,
      chooseRole ? 400 : 200,
      consentPage({
        requestId: flow.pending.id,
        csrf: flow.csrf,
        clientName: flow.client.name,
        personName: who.person.displayName,
        username: who.person.username,
        roles: who.roles.flatMap((r) =>
          r === null ? [] : [{ value: r, label: ROLE_LABELS[r], description: ROLE_DESCRIPTIONS[r] }],
        ),
        scopes,
        chooseRole,
      }),
    );
  }

  /** Remembers in this browser how the request ended, for a page of it opened again (Back). */
  function finished(reply: FastifyReply, flow: PendingContext, how: Finish): void {
    rememberFinished(reply, flow.pending.id, how, ctx.config.lifetimes.pendingAuthorization, ctx.cookies);
  }

  app.get('/consent', async (request, reply) => {
    const flow = await loadPending(ctx, request, reply, queryParams(request).get('request')?.[0]);
    if (!flow) return reply;
    const who = await consentingPerson(ctx, request, reply, flow);
    if (!who) return reply;
    return showConsent(request, reply, flow, who, false);
  });

  app.post('/consent', async (request, reply) => {
    const form = formParams(request) ?? new Map();
    const flow = await loadPending(ctx, request, reply, single(form, 'request'), form);
    if (!flow) return reply;
    const who = await consentingPerson(ctx, request, reply, flow);
    if (!who) return reply;

    const result = await decide(stepDeps(ctx, request), flow, flow.client, who, {
      decision: form.get('decision')?.[0],
      role: form.get('scope')?.[0],
    });
    if (!result.done) {
      // Completed meanwhile (a form posted twice): the page that says the sign-in is over.
      if (result.problem === 'expired') return finishedPage(reply, finishedHow(request, flow.pending.id)) ?? reply;
      // Someone else signed in on this browser since the page was shown: show it to them.
      if (result.problem === 'person-changed') return reply.redirect(consentUrl(flow.pending.id), 303);
      // Allow without one of the roles offered: the same page again, saying what is missing.
      if (result.problem === 'choose-role') return showConsent(request, reply, flow, who, true);
      return sendPage(reply, 400, errorPage(ALLOW_OR_DENY));
    }
    finished(reply, flow, result.decision);
    if (result.authorized) logAuthorized(request, result.authorized, 'consent_given');
    else logRequestEvent(request, 'consent_denied', { person: who.person.id, client: flow.client.id });
    return reply.redirect(result.location, 303);
  });

  /**
   * Cancel on the sign-in page: no sign-in, and the app hears access_denied as after Deny
   * (the sign-in form posts here with its request and CSRF token).
   */
  app.post('/login/cancel', async (request, reply) => {
    const form = formParams(request) ?? new Map();
    const flow = await loadPending(ctx, request, reply, single(form, 'request'), form);
    if (!flow) return reply;
    const location = await cancel(stepDeps(ctx, request), flow);
    if (location === undefined) return finishedPage(reply, finishedHow(request, flow.pending.id)) ?? reply;
    finished(reply, flow, 'cancel');
    logRequestEvent(request, 'sign_in_cancelled', { client: flow.client.id });
    return reply.redirect(location, 303);
  });
};
