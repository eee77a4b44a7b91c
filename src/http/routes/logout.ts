/**
 * GET and POST /oauth2/logout — OpenID Connect RP-Initiated Logout 1.0 §2 (what to do is
 * oauth/logout.ts's). This route reads the parameters, checks the confirmation form's
 * CSRF token, carries the session cookie, and renders: the confirmation page, a 303 to
 * the app's registered post-logout URI, or the "You are signed out" page. Bad input is a
 * 400 page: there is nowhere trusted to send an error to.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { logoutEndpoint } from '../../oauth/endpoints.js';
import { invalidRequest } from '../../oauth/errors.js';
import { logout, logoutQuery, readLogoutRequest, type LogoutRequest } from '../../oauth/logout.js';
import { single, type Params } from '../../oauth/params.js';
import { hashSecret } from '../../oauth/tokens.js';
import { clearSessionCookie, csrfMatches, csrfToken, sessionCookieValue } from '../browser.js';
import type { RouteContext } from '../context.js';
import { logRequestEvent } from '../events.js';
import { limitRequestRate } from '../rate-limit.js';
import { issuerFor } from '../issuer.js';
import { sendErrorPage, sendPage, sendPageFailure } from '../replies.js';
import { formParams, queryParams } from '../request-params.js';
import { errorPage } from '../views/error.js';
import { logoutConfirmPage, signedOutPage } from '../views/logout.js';
import { interactionDeps } from './pending.js';

/** The confirmation form's CSRF token: bound to the session it would end (browser.ts). */
const CSRF_PURPOSE = 'logout';

export const logoutRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  // A failure no step answered (the database unreachable) is a page, never JSON.
  app.setErrorHandler(sendPageFailure);
  limitRequestRate(app, ctx.rateLimiter, 'logout');

  async function endSession(request: FastifyRequest, reply: FastifyReply) {
    let params: Params | undefined;
    let parsed: LogoutRequest;
    let confirmed: boolean;
    try {
      params = request.method === 'POST' ? formParams(request) : queryParams(request);
      if (!params) throw invalidRequest('The request body must be application/x-www-form-urlencoded');
      parsed = readLogoutRequest(params);
      // Only our confirmation form posts `confirm`; a GET never confirms.
      confirmed = request.method === 'POST' && single(params, 'confirm') !== undefined;
    } catch (err) {
      return sendErrorPage(request, reply, err);
    }
    const session = sessionCookieValue(request);

    // A relying party's cross-site form POST does not carry our SameSite=Lax session
    // cookie; the same request as a top-level GET does, so the session is found.
    if (request.method === 'POST' && !confirmed && session === undefined) {
      const query = logoutQuery(parsed);
      return reply.redirect(`${logoutEndpoint.paths[0]}${query ? `?${query}` : ''}`, 303);
    }
    // The form ends a session only with the token of the page that session was shown.
    if (
      confirmed &&
      session !== undefined &&
      !csrfMatches(ctx.config.secret, CSRF_PURPOSE, hashSecret(session), single(params, 'csrf'))
    ) {
      return sendPage(
        reply,
        403,
        errorPage({
          status: 403,
          title: 'This form has expired',
          message: 'The form could not be verified, so you are still signed in. Go back to the app and sign out again.',
        }),
      );
    }

    let result;
    try {
      result = await logout(
        { ...interactionDeps(ctx), issuer: issuerFor(ctx, request), jwks: () => ctx.keys.jwks() },
        parsed,
        session,
        confirmed,
      );
    } catch (err) {
      return sendErrorPage(request, reply, err);
    }

    if (!result.done) {
      const { who, checked } = result;
      return sendPage(
        reply,
        200,
        logoutConfirmPage({
          csrf: csrfToken(ctx.config.secret, CSRF_PURPOSE, hashSecret(session as string)),
          personName: who.person.displayName,
          username: who.person.username,
          ...(checked.client && { clientName: checked.client.name, clientId: checked.client.id }),
          // Carried only when it will be followed: confirming cannot launder a failed check.
          ...(checked.location !== undefined && {
            postLogoutRedirectUri: parsed.postLogoutRedirectUri,
            state: parsed.state,
          }),
          ...(checked.notFollowed && { notFollowed: checked.notFollowed }),
        }),
      );
    }

    if (session !== undefined) clearSessionCookie(reply, ctx.cookies);
    if (result.endedSession) {
      logRequestEvent(request, 'signed_out', {
        person: result.person ?? null,
        client: result.checked.client?.id ?? null,
      });
    }
    if (result.checked.location !== undefined) return reply.redirect(result.checked.location, 303);
    return sendPage(
      reply,
      200,
      signedOutPage({ ...(result.checked.notFollowed && { notFollowed: result.checked.notFollowed }) }),
    );
  }

  for (const url of logoutEndpoint.paths) {
    app.route({ method: ['GET', 'POST'], url, handler: endSession });
  }
};
