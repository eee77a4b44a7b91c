/** GET / — where a person or developer who opens the server's address lands. */
import type { FastifyPluginAsync } from 'fastify';
import type { RouteContext } from '../context.js';
import { issuerFor } from '../issuer.js';
import { sendPage } from '../replies.js';
import { html } from '../views/html.js';
import { page } from '../views/layout.js';

function homePage(issuer: string, demo: boolean): string {
  const body = html`<section class="card">
<h1>Tessera</h1>
<p>This is an OAuth 2.0 authorization server. Apps send you here to sign in and approve what they may do for you.</p>
${demo ? html`<p><a href="/demo">Open the demo</a> to walk through the whole flow.</p>` : ''}
<h2>For developers</h2>
<ul>
<li>Authorization endpoint: <code>${issuer}/apiAuthorize.action</code></li>
<li>Token endpoint: <code>${issuer}/apiToken.action</code></li>
<li>Metadata: <a href="/.well-known/oauth-authorization-server"><code>/.well-known/oauth-authorization-server</code></a></li>
</ul>
</section>`;
  return page({ title: 'Welcome', body });
}

export const homeRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  app.get('/', async (request, reply) => sendPage(reply, 200, homePage(issuerFor(ctx, request), ctx.config.demo)));
};
