/**
 * The sign-in page. GET shows it; POST checks the password and answers with a 303
 * (post/redirect/get) to the consent page, or back to this page with a message. There is
 * no `next` URL: the way on comes only from the pending authorization on the server.
 */
import type { FastifyPluginAsync } from 'fastify';
import { registeredUsername } from '../../oauth/authenticate.js';
import { endSession, nextStep, signIn } from '../../oauth/interaction.js';
import { single } from '../../oauth/params.js';
import { ROLE_LABELS, rolesIn } from '../../oauth/role-scope.js';
import { DEFAULT_THROTTLE } from '../../oauth/sign-in-throttle.js';
import { clearSessionCookie, sessionCookieValue, setSessionCookie } from '../browser.js';
import type { RouteContext } from '../context.js';
import { logRequestEvent } from '../events.js';
import { sendPage, sendPageFailure } from '../replies.js';
import { formParams, queryParams } from '../request-params.js';
import { loginPage } from '../views/login.js';
import { interactionDeps, loadPending, loginUrl, redirectTo, stepDeps, type PendingContext } from './pending.js';

function messageFor(error: string | undefined, flow: PendingContext): { kind: 'error'; text: string } | undefined {
  if (error === 'credentials') return { kind: 'error', text: 'The username or password is not correct.' };
  if (error === 'locked') {
    return {
      kind: 'error',
      text: `Too many failed sign-ins for this username. Wait ${DEFAULT_THROTTLE.windowSeconds / 60} minutes, then try again.`,
    };
  }
  if (error === 'role') {
    const wanted = flow.request.role
      ? `the ${ROLE_LABELS[flow.request.role]} role`
      : `one of the roles ${flow.client.name} accepts (${rolesIn(flow.client.scopes)
          .map((r) => ROLE_LABELS[r])
          .join(', ')})`;
    return {
      kind: 'error',
      text: `That account does not hold ${wanted}, so it cannot be used with ${flow.client.name}. You may sign in as someone else.`,
    };
  }
  return undefined;
}

export const signInRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  // A failure no step answered (the database unreachable) is a page, never JSON.
  app.setErrorHandler(sendPageFailure);

  app.get('/login', async (request, reply) => {
    const query = queryParams(request);
    const flow = await loadPending(ctx, request, reply, query.get('request')?.[0]);
    if (!flow) return reply;
    const message = messageFor(query.get('error')?.[0], flow);
    return sendPage(
      reply,
      200,
      loginPage({
        requestId: flow.pending.id,
        csrf: flow.csrf,
        clientName: flow.client.name,
        ...(message && { message }),
        // OpenID Connect Core 1.0 §3.1.2.1 login_hint: the username the client expects.
        ...(flow.request.loginHint !== undefined && { username: flow.request.loginHint }),
      }),
    );
  });

  app.post('/login', async (request, reply) => {
    const form = formParams(request) ?? new Map();
    const flow = await loadPending(ctx, request, reply, form.get('request')?.[0], form);
    if (!flow) return reply;
    const id = flow.pending.id;
    const credentials = {
      username: form.get('username')?.[0]?.trim() ?? '',
      password: form.get('password')?.[0] ?? '',
    };
    const result = await signIn(interactionDeps(ctx), flow, flow.client, credentials, sessionCookieValue(request));
    if (!result.ok) {
      // Only a registered username is logged (audit.ts): never what was typed for an unknown one.
      const username = (await registeredUsername(ctx.store, credentials.username)) ?? null;
      if (result.problem === 'locked') {
        logRequestEvent(request, 'sign_in_locked', { username, client: flow.client.id });
      } else {
        logRequestEvent(request, 'sign_in_failed', { username, client: flow.client.id, reason: result.problem });
      }
      return reply.redirect(loginUrl(id, result.problem), 303);
    }
    // The cookie lives no longer than the session's absolute end.
    setSessionCookie(reply, result.session, ctx.config.lifetimes.sessionMax, ctx.cookies);
    logRequestEvent(request, 'signed_in', {
      username: result.person.username,
      person: result.person.id,
      client: flow.client.id,
    });
    // On to consent, or, where the policy needs no page (a client that skips consent), to the client.
    return redirectTo(reply, id, await nextStep(stepDeps(ctx, request), flow, flow.client, result.session), 303);
  });

  /** "Sign in as someone else": ends the session and goes back to the sign-in page. */
  app.post('/login/switch', async (request, reply) => {
    const form = formParams(request) ?? new Map();
    const flow = await loadPending(ctx, request, reply, single(form, 'request'), form);
    if (!flow) return reply;
    await endSession(interactionDeps(ctx), sessionCookieValue(request));
    clearSessionCookie(reply, ctx.cookies);
    return reply.redirect(loginUrl(flow.pending.id), 303);
  });
};
