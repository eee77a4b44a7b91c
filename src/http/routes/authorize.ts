/**
 * GET/POST /apiAuthorize.action (alias /oauth2/authorize): validates the request, then
 * keeps it on the server as a pending authorization bound to this browser and sends the
 * person where the interaction policy says: to sign in, to the consent page (a live
 * session), or straight back to the client (no page needed, or `prompt=none`). Where
 * they go afterwards comes only from that stored request.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { validateAuthorizationRequest } from '../../oauth/authorize.js';
import { authorizationEndpoint } from '../../oauth/endpoints.js';
import { invalidRequest } from '../../oauth/errors.js';
import { nextStep, startInteraction } from '../../oauth/interaction.js';
import { hashSecret } from '../../oauth/tokens.js';
import { browserBinding, sessionCookieValue } from '../browser.js';
import type { RouteContext } from '../context.js';
import { limitRequestRate } from '../rate-limit.js';
import { issuerFor } from '../issuer.js';
import { sendAuthorizationError, sendSignInFailure } from '../replies.js';
import { formParams, queryParams } from '../request-params.js';
import { redirectTo, stepDeps } from './pending.js';

export const authorizeRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const { store } = ctx;
  // A failure no step answered (the database unreachable) is a page, never JSON.
  app.setErrorHandler(sendSignInFailure);
  limitRequestRate(app, ctx.rateLimiter, 'authorization');

  async function authorize(request: FastifyRequest, reply: FastifyReply) {
    const params = request.method === 'POST' ? formParams(request) : queryParams(request);
    let validated;
    try {
      if (!params) {
        throw invalidRequest('The request body must be application/x-www-form-urlencoded', { redirectable: false });
      }
      validated = await validateAuthorizationRequest(params, store, ctx.provider.responseTypes);
    } catch (err) {
      return sendAuthorizationError(request, reply, err, issuerFor(ctx, request));
    }
    const browserHash = hashSecret(browserBinding(request, reply, ctx.cookies));
    const deps = stepDeps(ctx, request);
    const interaction = await startInteraction(deps, validated.request, browserHash);
    // The policy decides from the browser's session: sign in, consent, or no page at all.
    const step = await nextStep(deps, interaction, validated.client, sessionCookieValue(request));
    return redirectTo(reply, interaction.pending.id, step, 302);
  }

  for (const url of authorizationEndpoint.paths) {
    app.route({ method: ['GET', 'POST'], url, handler: authorize });
  }
};
