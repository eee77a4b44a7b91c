/**
 * The consent page: names the client and the role in plain words; Allow issues the code
 * (or, for the implicit grant, the token) and Deny sends access_denied — both by a 303
 * to the redirect URI stored with the pending authorization.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { allowAuthorization, denyAuthorization } from '../../oauth/complete-authorization.js';
import { parseRole, ROLE_LABELS, type Role } from '../../oauth/scope.js';
import { single } from '../../oauth/params.js';
import type { PersonRecord } from '../../store/store.js';
import type { RouteContext } from '../context.js';
import { issuerFor } from '../issuer.js';
import { sendPage, sendPageFailure } from '../replies.js';
import { formParams, queryParams } from '../request-params.js';
import { consentPage } from '../views/consent.js';
import { errorPage } from '../views/error.js';
import { loadPending, loginUrl, rolesFor, signedInPerson, type PendingContext } from './pending.js';

/** The signed-in person who started this sign-in, or undefined after redirecting to sign in. */
async function consentingPerson(
  ctx: RouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
  flow: PendingContext,
): Promise<{ person: PersonRecord; roles: Role[] } | undefined> {
  const person = await signedInPerson(ctx, request);
  if (!person || person.id !== flow.pending.personId) {
    reply.redirect(loginUrl(flow.pending.id), 303);
    return undefined;
  }
  const roles = rolesFor(person, flow);
  if (roles.length === 0) {
    reply.redirect(loginUrl(flow.pending.id, 'role'), 303);
    return undefined;
  }
  return { person, roles };
}

export const consentRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const { store, config } = ctx;
  // A failure no step answered (the database unreachable) is a page, never JSON.
  app.setErrorHandler(sendPageFailure);

  app.get('/consent', async (request, reply) => {
    const flow = await loadPending(ctx, request, reply, queryParams(request).get('request')?.[0]);
    if (!flow) return reply;
    const who = await consentingPerson(ctx, request, reply, flow);
    if (!who) return reply;
    return sendPage(
      reply,
      200,
      consentPage({
        requestId: flow.pending.id,
        csrf: flow.csrf,
        clientName: flow.client.name,
        personName: who.person.displayName,
        username: who.person.username,
        roles: who.roles.map((r) => ({ value: r, label: ROLE_LABELS[r] })),
      }),
    );
  });

  app.post('/consent', async (request, reply) => {
    const form = formParams(request) ?? new Map();
    const flow = await loadPending(ctx, request, reply, single(form, 'request'), form);
    if (!flow) return reply;
    const who = await consentingPerson(ctx, request, reply, flow);
    if (!who) return reply;

    const decision = form.get('decision')?.[0];
    const chosen = form.get('scope')?.[0];
    const role = chosen !== undefined ? parseRole(chosen) : who.roles.length === 1 ? who.roles[0] : undefined;
    if (decision !== 'deny' && (decision !== 'allow' || !role || !who.roles.includes(role))) {
      return sendPage(
        reply,
        400,
        errorPage(
          decision === 'allow'
            ? {
                status: 400,
                title: 'Choose a role',
                message: 'Go back, choose one of the roles offered, and press Allow.',
              }
            : { status: 400, title: 'Allow or Deny', message: 'Go back and press Allow or Deny.' },
        ),
      );
    }
    // Taking the pending authorization is the claim: a form posted twice completes once.
    const taken = await store.takePendingAuthorization(flow.pending.id, ctx.now());
    if (!taken) return loadPending(ctx, request, reply, undefined).then(() => reply);

    const location =
      decision === 'deny'
        ? denyAuthorization(flow.request, issuerFor(ctx, request))
        : await allowAuthorization(flow.request, who.person, role as Role, store, {
            issuer: issuerFor(ctx, request),
            lifetimes: config.lifetimes,
            now: ctx.now(),
          });
    request.log.info(
      { event: decision === 'deny' ? 'consent_denied' : 'consent_allowed', client: flow.client.id },
      'consent',
    );
    return reply.redirect(location, 303);
  });
};
