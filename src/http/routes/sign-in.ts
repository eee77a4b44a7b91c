/**
 * The sign-in page. GET shows it; POST checks the password and answers with a 303
 * (post/redirect/get) to the consent page, or back to this page with a message. There is
 * no `next` URL: the way on comes only from the pending authorization on the server.
 */
import type { FastifyPluginAsync } from 'fastify';
import { endSession, nextStep, signIn } from '../../oauth/interaction.js';
import { single } from '../../oauth/params.js';
import { ROLE_LABELS, rolesIn } from '../../oauth/role-scope.js';
import {
  clearSessionCookie,
  rememberTypedUsername,
  sessionCookieValue,
  setSessionCookie,
  typedUsername,
} from '../browser.js';
import type { RouteContext } from '../context.js';
import { logRequestEvent } from '../events.js';
import { limitRequestRate } from '../rate-limit.js';
import { sendPage, sendPageFailure } from '../replies.js';
import { formParams, queryParams } from '../request-params.js';
import { loginPage, type LoginField, type LoginView } from '../views/login.js';
import { interactionDeps, loadPending, loginUrl, redirectTo, stepDeps, type PendingContext } from './pending.js';

/** A wait in words, rounded up: "about 40 seconds", "about 15 minutes". */
function roughly(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return `about ${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `about ${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/**
 * The page after a refused attempt: `until` (ms since the epoch, in the URL the POST
 * redirected to) says how long to wait; the page answers 429 with Retry-After (RFC 6585
 * §4) while the wait lasts. A forged `until` only changes the words its sender sees.
 */
function lockedPage(until: string | undefined, now: number): { status: number; retryAfter?: number; text: string } {
  const prefix = 'Too many failed sign-ins for this username.';
  const end = until !== undefined && /^\d{1,15}$/.test(until) ? Number(until) : undefined;
  if (end === undefined) return { status: 429, text: `${prefix} Wait a few minutes, then try again.` };
  if (end <= now) return { status: 200, text: `${prefix} You may try again now.` };
  return {
    status: 429,
    retryAfter: Math.ceil((end - now) / 1000),
    text: `${prefix} Wait ${roughly(end - now)}, then try again.`,
  };
}

function messageFor(error: string | undefined, flow: PendingContext): LoginView['message'] {
  if (error === 'credentials') {
    const both: LoginField[] = ['username', 'password'];
    return { kind: 'error', text: 'The username or password is not correct.', about: both, invalid: both };
  }
  if (error === 'role') {
    const wanted = flow.request.role
      ? `the ${ROLE_LABELS[flow.request.role]} role`
      : `one of the roles ${flow.client.name} accepts (${rolesIn(flow.client.scopes)
          .map((r) => ROLE_LABELS[r])
          .join(', ')})`;
    return {
      kind: 'error',
      about: ['username'],
      text: `That account does not hold ${wanted}, so it cannot be used with ${flow.client.name}. You may sign in as someone else.`,
    };
  }
  return undefined;
}

export const signInRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  // A failure no step answered (the database unreachable) is a page, never JSON.
  app.setErrorHandler(sendPageFailure);
  limitRequestRate(app, ctx.rateLimiter, 'sign-in');

  app.get('/login', async (request, reply) => {
    const query = queryParams(request);
    const flow = await loadPending(ctx, request, reply, query.get('request')?.[0]);
    if (!flow) return reply;
    const error = query.get('error')?.[0];
    const locked = error === 'locked' ? lockedPage(query.get('until')?.[0], ctx.now()) : undefined;
    const about: LoginField[] = ['username', 'password'];
    const message = locked ? { kind: 'error' as const, text: locked.text, about } : messageFor(error, flow);
    if (locked?.retryAfter !== undefined) reply.header('retry-after', String(locked.retryAfter));
    // After a wrong password (or a lock) the username typed stays; after a role refusal
    // the person needs another account, so the field starts empty.
    const typed = error === 'credentials' || error === 'locked' ? typedUsername(request, flow.pending.id) : undefined;
    return sendPage(
      reply,
      locked?.status ?? 200,
      loginPage({
        requestId: flow.pending.id,
        csrf: flow.csrf,
        clientName: flow.client.name,
        ...(message && { message }),
        // OpenID Connect Core 1.0 §3.1.2.1 login_hint: the username the client expects.
        ...(flow.request.loginHint !== undefined && { username: flow.request.loginHint }),
        ...(typed !== undefined && { username: typed }),
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
      address: request.ip,
    };
    const result = await signIn(interactionDeps(ctx), flow, flow.client, credentials, sessionCookieValue(request));
    if (!result.ok) {
      const keep = ctx.config.lifetimes.pendingAuthorization;
      rememberTypedUsername(reply, id, credentials.username, keep, ctx.cookies);
      // Who was tried, by which app, from where: what an operator needs to see an attack.
      // Only a registered username is logged (services/audit.ts): never what was typed for
      // an unknown one, which may be a password typed in the wrong field.
      const attempt = { username: result.username, client: flow.client.id };
      if (result.problem === 'locked') {
        logRequestEvent(request, 'sign_in_throttled', attempt);
        return reply.redirect(`${loginUrl(id, 'locked')}&until=${result.retryAt}`, 303);
      }
      logRequestEvent(request, 'sign_in_failed', { ...attempt, reason: result.problem });
      if (result.problem === 'credentials' && result.locks) {
        const until = (t: number | null) => (t === null ? null : new Date(t).toISOString());
        logRequestEvent(request, 'sign_in_locked', {
          ...attempt,
          address_until: until(result.locks.address),
          username_until: until(result.locks.username),
        });
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
