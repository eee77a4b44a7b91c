/**
 * The demo client's pages (GET /demo …). The demo is a separate little app that uses only
 * Tessera's public OAuth surface; these pages explain each step in plain words and show
 * every request and response exactly as it went over HTTP. No scripts, no inline styles:
 * the look comes from the `.demo*` rules in http/views/assets.ts.
 */
import { html, type SafeHtml } from '../http/views/html.js';
import { page } from '../http/views/layout.js';

/** The five steps of the flow, in order; the progress list on every page names them. */
export const DEMO_STEPS = [
  'Send the person to Tessera',
  'Receive the code',
  'Exchange the code for tokens',
  'Call the API',
  'Refresh the token',
] as const;

/** 0 = the introduction (nothing done yet), 1–5 = the step being shown. */
export type DemoStep = 0 | 1 | 2 | 3 | 4 | 5;

export interface ShownRequest {
  method: string;
  /** The request target: path and query. */
  path: string;
  headers: [string, string][];
  body?: string;
}

export interface ShownResponse {
  status: number;
  statusText: string;
  headers: [string, string][];
  /** The body, pretty-printed when it is JSON. */
  body: string;
}

/** One row of an explanation table: a parameter, its value, what it means. */
export interface ParamRow {
  name: string;
  value: string;
  meaning: string;
  secret?: boolean;
}

function progress(current: DemoStep): SafeHtml {
  return html`<nav aria-label="Where you are in the flow">
<ol class="demo-progress">
${DEMO_STEPS.map((label, i) => {
  const n = i + 1;
  if (n === current) return html`<li class="current" aria-current="step">${label}</li>\n`;
  if (n < current) return html`<li class="done">${label}</li>\n`;
  return html`<li>${label}</li>\n`;
})}</ol>
</nav>`;
}

const startOver = html`<p class="demo-restart"><a href="/demo">Start over</a></p>`;

const secretTag = html`<span class="demo-secret">secret</span>`;

function demoPage(title: string, step: DemoStep, content: SafeHtml): string {
  const body = html`<div class="demo">
<p class="step-label">Tessera demo app</p>
${progress(step)}
${content}
${step === 0 ? undefined : startOver}
</div>`;
  return page({ title: `Demo: ${title}`, body });
}

function paramTable(caption: string, rows: ParamRow[], firstColumn = 'Parameter'): SafeHtml {
  return html`<table class="demo-params">
<caption>${caption}</caption>
<thead><tr><th scope="col">${firstColumn}</th><th scope="col">Value</th><th scope="col">What it means</th></tr></thead>
<tbody>
${rows.map(
  (
    r,
  ) => html`<tr><th scope="row"><code>${r.name}</code></th><td><code>${r.value}</code>${r.secret ? html` ${secretTag}` : undefined}</td><td>${r.meaning}</td></tr>
`,
)}</tbody>
</table>`;
}

function requestText(r: ShownRequest): string {
  const head = [`${r.method} ${r.path} HTTP/1.1`, ...r.headers.map(([k, v]) => `${k}: ${v}`)].join('\n');
  return r.body === undefined ? head : `${head}\n\n${r.body}`;
}

function responseText(r: ShownResponse): string {
  const head = [`HTTP/1.1 ${r.status} ${r.statusText}`, ...r.headers.map(([k, v]) => `${k}: ${v}`)].join('\n');
  return r.body === '' ? head : `${head}\n\n${r.body}`;
}

/** The raw request and response of one call the demo made. */
function exchangeBlock(request: ShownRequest, response: ShownResponse, note: SafeHtml | undefined): SafeHtml {
  return html`<section class="step demo-http" aria-labelledby="http-heading">
<h2 id="http-heading">On the wire</h2>
<h3>The request the demo app sent</h3>
<pre class="demo-request"><code>${requestText(request)}</code></pre>
<h3>The response from Tessera</h3>
${note}
<pre class="demo-response"><code>${responseText(response)}</code></pre>
</section>`;
}

/** What the answer means, and the buttons that go on. */
function resultBlock(result: SafeHtml): SafeHtml {
  return html`<section class="step" aria-labelledby="result-heading">
<h2 id="result-heading">What it means</h2>
${result}
</section>`;
}

/** A POST button to the next step, with the demo's CSRF token. */
function postButton(action: string, label: string, csrf: string, primary: boolean, extra?: SafeHtml): SafeHtml {
  return html`<form method="post" action="${action}" class="demo-form">
<input type="hidden" name="csrf" value="${csrf}">
${extra}
<button type="submit" class="button ${primary ? 'button-primary' : 'button-secondary'}">${label}</button>
</form>`;
}

function nextSteps(csrf: string, callFirst: boolean, refresh = true): SafeHtml {
  return html`<div class="demo-actions">
${postButton('/demo/call', 'Call /api/v1/me', csrf, callFirst)}
${postButton('/demo/introspect', 'Ask Tessera about the token', csrf, false)}
${refresh ? postButton('/demo/refresh', 'Refresh the token', csrf, !callFirst) : undefined}
</div>`;
}

/** A JWT access token's header and claims, as jose decoded them. */
export interface DecodedJwt {
  header: string;
  claims: string;
}

function jwtBlock(jwt: DecodedJwt | undefined): SafeHtml | undefined {
  if (jwt === undefined) return undefined;
  return html`<section class="step" aria-labelledby="jwt-heading">
<h2 id="jwt-heading">Inside the access token</h2>
<p>This access token is a JWT (RFC 9068): three base64url parts, a header, the claims and Tessera's signature. An API checks the signature with Tessera's public keys (<a href="/.well-known/jwks.json"><code>/.well-known/jwks.json</code></a>) and then trusts the claims without asking Tessera. Anyone holding it can read it, so it says nothing secret.</p>
<h3>Header</h3>
<pre class="demo-response demo-jwt"><code>${jwt.header}</code></pre>
<p class="note"><code>typ</code> <code>at+jwt</code> says it is an access token, never an ID token; <code>kid</code> names the key that signed it.</p>
<h3>Claims</h3>
<pre class="demo-response demo-jwt"><code>${jwt.claims}</code></pre>
<p class="note"><code>sub</code> is who it speaks for, <code>client_id</code> the app, <code>aud</code> the APIs it is meant for, <code>exp</code> when it stops working (seconds since 1970), <code>jti</code> its own id.</p>
</section>`;
}

function secretsNote(): SafeHtml {
  return html`<p class="note"><span class="demo-secret">secret</span> <strong>The tokens below are secrets.</strong> A real app keeps them on its own server (or in the phone's secure storage) and never shows them to anyone. This demo shows them only so that you can see what happens.</p>`;
}

// ---------------------------------------------------------------- the introduction

export interface DemoPerson {
  username: string;
  name: string;
  roles: string[];
}

export interface DemoIntroView {
  clientId: string;
  clientName: string;
  redirectUri: string;
  people: DemoPerson[];
  password: string;
  /** The scopes offered in the form: value ('' for none) and label. */
  scopes: { value: string; label: string }[];
  codeLifetime: number;
  accessTokenLifetime: number;
  /** The twin demo app that gets JWT access tokens. */
  jwtClientId: string;
}

export function demoIntroPage(v: DemoIntroView): string {
  const content = html`<h1>See OAuth 2.0 at work, step by step</h1>
<section class="step">
<p class="lead">This page is a small, separate app: <strong>${v.clientName}</strong>. It would like to call an API on your behalf, so it needs a token from Tessera, the authorization server — without ever seeing your password.</p>
<p>Here is what will happen. The app sends you to Tessera, where you sign in and press Allow. Tessera sends you back to the app with a one-time code (valid for ${v.codeLifetime} seconds). The app swaps that code for an access token (valid for ${v.accessTokenLifetime} seconds) and a refresh token, calls the API with the access token, and finally uses the refresh token to get fresh tokens. Every request and response is shown exactly as it went over HTTP.</p>
<p class="note">The app is registered as <code>${v.clientId}</code>: a public client (it has no secret, like a browser or phone app), so it must use PKCE. Tessera will only ever send codes for it to <code>${v.redirectUri}</code>.</p>
</section>
<section class="step" aria-labelledby="people">
<h2 id="people">Who can sign in</h2>
${
  v.people.length === 0
    ? html`<p>There are no people yet. Add one with <code>tessera user add</code>.</p>`
    : html`<div class="table-scroll" role="region" aria-labelledby="people" tabindex="0"><table>
<thead><tr><th scope="col">Username</th><th scope="col">Name</th><th scope="col">Roles</th></tr></thead>
<tbody>
${v.people.map((p) => html`<tr><td><code>${p.username}</code></td><td>${p.name}</td><td>${p.roles.join(', ')}</td></tr>\n`)}</tbody>
</table></div>`
}
<p>The demo people all have the password <code>${v.password}</code>.</p>
</section>
<section class="step" aria-labelledby="choose">
<h2 id="choose">Choose what the app asks for</h2>
<p>In Tessera a scope is a role. The app may ask for one role, and only someone holding it can say yes; or it may ask for none and let you pick on the consent page.</p>
<form method="get" action="/demo/start" class="form">
<fieldset class="choices">
<legend>Scope</legend>
${v.scopes.map(
  (s, i) => html`<div class="choice">
<input type="radio" name="scope" id="scope-${s.value || 'none'}" value="${s.value}"${i === 0 ? html` checked` : undefined}>
<label for="scope-${s.value || 'none'}">${s.label}</label>
</div>
`,
)}</fieldset>
<fieldset class="choices">
<legend>Access token</legend>
<div class="choice">
<input type="radio" name="format" id="format-opaque" value="opaque" checked>
<label for="format-opaque">Opaque: a random string that means nothing outside Tessera; an API asks Tessera about it</label>
</div>
<div class="choice">
<input type="radio" name="format" id="format-jwt" value="jwt">
<label for="format-jwt">JWT: signed claims an API checks with Tessera's public keys (the app <code>${v.jwtClientId}</code>)</label>
</div>
</fieldset>
<fieldset class="choices">
<legend>Sign in with Tessera</legend>
<div class="choice">
<input type="checkbox" name="oidc" id="oidc" value="on">
<label for="oidc">Also ask who you are (OpenID Connect: <code>openid profile email</code>): the app gets an ID token, can ask for your name and e-mail address, and can sign you out of Tessera</label>
</div>
</fieldset>
<div class="actions">
<button type="submit" class="button button-primary">Start</button>
</div>
</form>
</section>`;
  return demoPage('OAuth step by step', 0, content);
}

// ---------------------------------------------------------------- step 1

export interface DemoStartView {
  authorizationUrl: string;
  params: ParamRow[];
  /** Whether the request names a scope; without one the person picks the role. */
  hasScope: boolean;
}

export function demoStartPage(v: DemoStartView): string {
  const content = html`<h1>Step 1: send the person to Tessera</h1>
<section class="step">
<p class="lead">The app cannot sign you in itself, so it sends your browser to Tessera's authorization endpoint with a few parameters that say who is asking, for what, and where to come back to.</p>
<p>This is the exact address:</p>
<pre class="demo-url"><code>${v.authorizationUrl}</code></pre>
${paramTable('The parameters of the authorization request', v.params)}
${v.hasScope ? undefined : html`<p class="note">There is no <code>scope</code> parameter: the app asks for no particular role, so anyone holding a role the app is enabled for may sign in, and picks the role on the consent page if they hold several.</p>`}
<p class="note">The app remembers <code>state</code> and the PKCE <code>code_verifier</code> in its own cookie (signed, HttpOnly) until you come back.</p>
<div class="actions">
<a class="button button-primary" href="${v.authorizationUrl}">Go to Tessera to sign in</a>
</div>
</section>`;
  return demoPage('Step 1', 1, content);
}

// ---------------------------------------------------------------- step 2

export interface DemoCallbackView {
  /** The callback URL exactly as received. */
  receivedUrl: string;
  params: ParamRow[];
  outcome:
    | { kind: 'code'; code: string; csrf: string; codeLifetime: number }
    | { kind: 'error'; error: string; description?: string }
    | { kind: 'state-mismatch' }
    | { kind: 'issuer-mismatch'; expected: string }
    | { kind: 'malformed'; reason: string };
}

const ERROR_EXPLANATIONS: Record<string, string> = {
  access_denied:
    "The person pressed Deny on Tessera's consent page, so Tessera sent the browser back with an error instead of a code. The app gets nothing; a real app would say so and offer to try again.",
  invalid_scope:
    'The app asked for a role (scope) that it is not enabled for, so Tessera refused before anyone signed in.',
  invalid_request:
    'Something in the authorization request was wrong or missing, and Tessera said what in error_description.',
  unauthorized_client: 'This app is not allowed to use this kind of request.',
  server_error: 'Tessera met an unexpected problem. Trying again later may work.',
  temporarily_unavailable: 'Tessera is busy or down for maintenance. Trying again later may work.',
};

export function demoCallbackPage(v: DemoCallbackView): string {
  const o = v.outcome;
  let verdict: SafeHtml;
  if (o.kind === 'code') {
    verdict = html`<div class="alert alert-info" role="status"><p><strong>It worked.</strong> The <code>state</code> that came back is the one the app sent, so this answer belongs to the request this browser started — not to a forged link (CSRF). The code is single-use and expires in ${o.codeLifetime} seconds.</p></div>
<p>On its own the code is not enough to get tokens: the app must also send the secret <code>code_verifier</code> that matches the challenge from step 1 (PKCE). Someone who steals the code from the address bar cannot use it.</p>
<form method="post" action="/demo/exchange" class="form">
<input type="hidden" name="csrf" value="${o.csrf}">
<input type="hidden" name="code" value="${o.code}">
<div class="actions">
<button type="submit" class="button button-primary">Exchange the code for tokens</button>
</div>
</form>`;
  } else if (o.kind === 'error') {
    verdict = html`<div class="alert alert-error" role="alert"><p><strong>No code this time: <code>${o.error}</code>.</strong> ${ERROR_EXPLANATIONS[o.error] ?? 'Tessera could not give the app a code, and said why in error and error_description.'}</p>
${o.description !== undefined ? html`<p>Tessera's description: “${o.description}”</p>` : undefined}</div>
<p>The <code>state</code> matched, so the app knows this answer is about its own request.</p>`;
  } else if (o.kind === 'state-mismatch') {
    verdict = html`<div class="alert alert-error" role="alert"><p><strong>CSRF check failed: the <code>state</code> does not match.</strong> The state in this callback is not the one this browser's demo sent in step 1. That is what a cross-site request forgery, or an old or copied link, looks like — so the app refuses to use anything in this callback, as every client must.</p></div>`;
  } else if (o.kind === 'issuer-mismatch') {
    verdict = html`<div class="alert alert-error" role="alert"><p><strong>Wrong issuer.</strong> The <code>iss</code> parameter names a different authorization server than <code>${o.expected}</code>, the one the app sent you to. An app that talks to several servers checks this (RFC 9207) so that one server cannot pass off another's answer, so the app refuses this callback.</p></div>`;
  } else {
    verdict = html`<div class="alert alert-error" role="alert"><p><strong>This callback cannot be used.</strong> ${o.reason}</p></div>`;
  }

  const content = html`<h1>Step 2: back at the app with the answer</h1>
<section class="step">
<p class="lead">After you answered, Tessera sent your browser back to the app's redirect URI. Everything the app learns is in the query string of this address:</p>
<pre class="demo-url"><code>${v.receivedUrl}</code></pre>
${v.params.length > 0 ? paramTable('The parameters of the callback', v.params) : undefined}
${verdict}
</section>`;
  return demoPage('Step 2', 2, content);
}

// ---------------------------------------------------------------- steps 3–5

export interface DemoHttpView {
  request: ShownRequest;
  response: ShownResponse;
  /** The request's form parameters, explained. */
  params: ParamRow[];
  /** Whether the call succeeded (a 200 with what the app wanted). */
  ok: boolean;
  /** The error code of a failed call, when the body had one. */
  error?: string;
  errorDescription?: string;
  /** CSRF token for the buttons; absent when there is nothing to go on with. */
  csrf?: string;
}

function failure(v: DemoHttpView, advice: string): SafeHtml {
  return html`<div class="alert alert-error" role="alert"><p><strong>Tessera said no${v.error ? html`: <code>${v.error}</code>` : undefined}.</strong>${v.errorDescription ? html` “${v.errorDescription}”` : undefined}</p><p>${advice}</p></div>`;
}

export interface DemoExchangeView extends DemoHttpView {
  accessTokenLifetime: number;
  /** The access token's header and claims when it is a JWT. */
  jwt?: DecodedJwt;
  /** "Sign in with Tessera": the ID token's header and claims, and whether its nonce is the one sent. */
  idToken?: DecodedJwt & { nonceMatches: boolean };
  /** "Sign in with Tessera": Tessera's logout for this sign-in. */
  signOutUrl?: string;
}

function idTokenBlock(idToken: (DecodedJwt & { nonceMatches: boolean }) | undefined): SafeHtml | undefined {
  if (idToken === undefined) return undefined;
  return html`<section class="step" aria-labelledby="id-token-heading">
<h2 id="id-token-heading">Who signed in: the ID token</h2>
<p>"Sign in with Tessera" added an <code>id_token</code> to the response: a JWT that tells the app who signed in, signed by Tessera. The app checks the signature with Tessera's public keys (<a href="/.well-known/jwks.json"><code>/.well-known/jwks.json</code></a>), that <code>iss</code> is Tessera, that <code>aud</code> is itself, and that <code>nonce</code> is the one it sent.</p>
<h3>Header</h3>
<pre class="demo-response demo-jwt"><code>${idToken.header}</code></pre>
<h3>Claims</h3>
<pre class="demo-response demo-jwt"><code>${idToken.claims}</code></pre>
${
  idToken.nonceMatches
    ? html`<div class="alert alert-info" role="status"><p>The <code>nonce</code> is the one the app sent in step 1: this ID token was made for this sign-in.</p></div>`
    : html`<div class="alert alert-error" role="alert"><p>The <code>nonce</code> is not the one the app sent in step 1: a real app would refuse this ID token.</p></div>`
}
<p class="note"><code>sub</code> is your stable id at Tessera, <code>auth_time</code> when you entered your password, <code>sid</code> your session at Tessera; <code>name</code>, <code>preferred_username</code> and <code>email</code> come with the <code>profile</code> and <code>email</code> scopes.</p>
</section>`;
}

/** "Sign in with Tessera": UserInfo, and signing out of Tessera. */
function openIdActions(csrf: string | undefined, signOutUrl: string | undefined): SafeHtml | undefined {
  if (signOutUrl === undefined) return undefined;
  return html`<div class="demo-actions">
${csrf !== undefined ? postButton('/demo/userinfo', 'Ask for UserInfo', csrf, false) : undefined}
<a class="button button-secondary" href="${signOutUrl}">Sign out</a>
</div>
<p class="note">Sign out goes to Tessera's <code>/oauth2/logout</code> with the ID token as <code>id_token_hint</code> and comes back to the demo: it ends your session at Tessera, not the app's tokens.</p>`;
}

export function demoExchangePage(v: DemoExchangeView): string {
  const result = v.ok
    ? html`<div class="alert alert-info" role="status"><p><strong>The app has its tokens.</strong> The access token opens the API for ${v.accessTokenLifetime} seconds; the refresh token gets a new access token after that, without asking you again. The code is now used up: sending it again would fail and revoke every token issued from it.</p></div>
${v.csrf !== undefined ? nextSteps(v.csrf, true) : undefined}
${openIdActions(v.csrf, v.signOutUrl)}`
    : failure(
        v,
        'A code works once and only for a short time, and only with the code_verifier of the request that asked for it. Start over to get a new one.',
      );
  const note = html`<p class="note">The response carries <code>Cache-Control: no-store</code> and <code>Pragma: no-cache</code> so that no browser or proxy keeps a copy of the tokens.</p>
${v.ok ? secretsNote() : undefined}`;
  const content = html`<h1>Step 3: exchange the code for tokens</h1>
<section class="step">
<p class="lead">The app now talks to Tessera directly, not through your browser: it posts the code to the token endpoint together with the PKCE <code>code_verifier</code>. Tessera checks that the verifier hashes to the challenge from step 1 before it hands out tokens.</p>
${paramTable('The form parameters of the token request', v.params)}
</section>
${exchangeBlock(v.request, v.response, note)}
${idTokenBlock(v.idToken)}
${jwtBlock(v.jwt)}
${resultBlock(result)}`;
  return demoPage('Step 3', 3, content);
}

export function demoCallPage(v: DemoHttpView): string {
  const result = v.ok
    ? html`<div class="alert alert-info" role="status"><p><strong>The API answered.</strong> It checked the access token and told the app who it speaks for and in which role (the scope). The app never saw a password.</p></div>
${v.csrf !== undefined ? nextSteps(v.csrf, false) : undefined}`
    : html`${failure(
        v,
        'An access token stops working when it expires or when its grant is revoked (for example after a refresh token was used twice). The refresh token may still get a new one — or start over.',
      )}
${v.csrf !== undefined ? nextSteps(v.csrf, false) : undefined}`;
  const content = html`<h1>Step 4: call the API with the access token</h1>
<section class="step">
<p class="lead">The app calls the protected API <code>/api/v1/me</code> with the access token in the <code>Authorization: Bearer …</code> header. Whoever holds a bearer token can use it, which is why it is short-lived and kept secret.</p>
</section>
${exchangeBlock(v.request, v.response, undefined)}
${resultBlock(result)}`;
  return demoPage('Step 4', 4, content);
}

export interface DemoRefreshView extends DemoHttpView {
  oldRefreshToken: string;
  newRefreshToken?: string;
  jwt?: DecodedJwt;
}

export function demoRefreshPage(v: DemoRefreshView): string {
  const result = v.ok
    ? html`<div class="alert alert-info" role="status"><p><strong>Fresh tokens.</strong> Tessera rotated the refresh token: the old one is now retired and the app keeps only the new one. If anyone ever presents the old one again — say, a thief who copied it — Tessera treats that as theft and revokes the whole grant, so every token from this sign-in stops working.</p></div>
${paramTable(
  'Refresh tokens, before and after',
  [
    {
      name: 'old',
      value: v.oldRefreshToken,
      meaning: 'Retired: using it again revokes the whole grant.',
      secret: true,
    },
    {
      name: 'new',
      value: v.newRefreshToken ?? '(none)',
      meaning: 'The one the app keeps for next time.',
      secret: true,
    },
  ],
  'Refresh token',
)}
${v.csrf !== undefined ? nextSteps(v.csrf, true) : undefined}`
    : failure(
        v,
        'A refresh token works once (each use returns a new one), only while the sign-in session lasts, and not after its grant was revoked. Start over to sign in again.',
      );
  const content = html`<h1>Step 5: refresh the token</h1>
<section class="step">
<p class="lead">Access tokens are short-lived. Instead of sending you to sign in again, the app posts its refresh token to the token endpoint and gets a new access token — and a new refresh token.</p>
${paramTable('The form parameters of the refresh request', v.params)}
</section>
${exchangeBlock(v.request, v.response, v.ok ? secretsNote() : undefined)}
${jwtBlock(v.jwt)}
${resultBlock(result)}`;
  return demoPage('Step 5', 5, content);
}

export interface DemoIntrospectView extends DemoHttpView {
  /** Whether Tessera said the token is active. */
  active: boolean;
  apiClientId: string;
  hasRefreshToken: boolean;
}

export function demoIntrospectPage(v: DemoIntrospectView): string {
  const verdict = !v.ok
    ? failure(v, 'The demo API could not ask Tessera: its own credentials were refused or the request was wrong.')
    : v.active
      ? html`<div class="alert alert-info" role="status"><p><strong>Active.</strong> Tessera vouches for the token right now: who it speaks for (<code>sub</code>, <code>username</code>), which app holds it (<code>client_id</code>), its scope and when it expires. The API can serve the request.</p></div>`
      : html`<div class="alert alert-error" role="alert"><p><strong>Not active.</strong> Tessera answers exactly <code>{"active": false}</code> for a token that is unknown, expired or revoked, or whose grant, person or app has been disabled — and says nothing more, so the answer gives nothing away.</p></div>`;
  const content = html`<h1>Beside step 4: the API asks Tessera about the token</h1>
<section class="step">
<p class="lead">An API that receives a token it cannot read itself asks Tessera's introspection endpoint (RFC 7662). It authenticates as itself — here the demo API, <code>${v.apiClientId}</code>, registered with <code>--resource-server</code> so that it may ask about any app's tokens — and posts the token.</p>
${paramTable('The form parameters of the introspection request', v.params)}
<p class="note">The demo API's credentials are masked below: they are the API's secret, not the app's.</p>
</section>
${exchangeBlock(v.request, v.response, undefined)}
${resultBlock(html`${verdict}
${v.csrf !== undefined ? nextSteps(v.csrf, true, v.hasRefreshToken) : undefined}`)}`;
  return demoPage('Introspection', 4, content);
}

// ---------------------------------------------------------------- Sign in with Tessera

export interface DemoUserInfoView extends DemoHttpView {
  hasRefreshToken: boolean;
  signOutUrl?: string;
}

export function demoUserInfoPage(v: DemoUserInfoView): string {
  const verdict = v.ok
    ? html`<div class="alert alert-info" role="status"><p><strong>Tessera says who you are.</strong> <code>sub</code> is the same as in the ID token; the other claims are those of the scopes you allowed (<code>profile</code>: name and username; <code>email</code>: e-mail address).</p></div>`
    : failure(v, 'UserInfo answers only an access token that is live and holds the openid scope.');
  const content = html`<h1>Beside step 4: ask Tessera who signed in</h1>
<section class="step">
<p class="lead">The app calls Tessera's UserInfo endpoint (OpenID Connect Core §5.3) with the access token, as it would call any API.</p>
</section>
${exchangeBlock(v.request, v.response, undefined)}
${resultBlock(html`${verdict}
${v.csrf !== undefined ? nextSteps(v.csrf, true, v.hasRefreshToken) : undefined}
${openIdActions(undefined, v.signOutUrl)}`)}`;
  return demoPage('UserInfo', 4, content);
}

export function demoSignedOutPage(v: { stateMatches: boolean }): string {
  const content = v.stateMatches
    ? html`<h1>Signed out of Tessera</h1>
<section class="step">
<div class="alert alert-info" role="status"><p><strong>Tessera ended your session and sent you back.</strong> The <code>state</code> is the one the app sent with the sign-out, so this is the answer to its own request. The app forgot its tokens too; tokens it kept would still work until they expire or are revoked, because signing out of Tessera ends the session, not the app's grant.</p></div>
<p>Start again and Tessera will ask for your password.</p>
<div class="actions"><a class="button button-primary" href="/demo">Start over</a></div>
</section>`
    : html`<h1>Not the answer to this app's sign-out</h1>
<section class="step">
<div class="alert alert-error" role="alert"><p>The <code>state</code> in this address is not the one this browser's demo sent with its sign-out (or the demo's cookie is gone), so the app ignores it.</p></div>
<div class="actions"><a class="button button-primary" href="/demo">Start over</a></div>
</section>`;
  return demoPage('Signed out', 0, content);
}

// ---------------------------------------------------------------- trouble

export interface DemoProblemView {
  title: string;
  message: string;
  /** Where the demo should be opened, for cookies to work. */
  demoUrl?: string;
}

/** Missing or invalid demo cookie, a forged form, a step out of order: start over. */
export function demoStartOverPage(v: DemoProblemView): string {
  const content = html`<h1>${v.title}</h1>
<section class="step">
<div class="alert alert-error" role="alert"><p>${v.message}</p></div>
<p>Nothing was sent to Tessera. Please start the demo again from the beginning.</p>
${v.demoUrl ? html`<p class="note">The demo keeps its progress in a cookie, which belongs to one address: keep to the address you started at.</p>` : undefined}
<div class="actions"><a class="button button-primary" href="/demo">Start over</a></div>
</section>`;
  return demoPage(v.title, 0, content);
}

/** The demo client is missing or registered for another address. */
export function demoUnavailablePage(v: DemoProblemView): string {
  const content = html`<h1>${v.title}</h1>
<section class="step">
<div class="alert alert-error" role="alert"><p>${v.message}</p></div>
<p>Start the server with <code>tessera serve --demo</code> (or <code>npm start</code>): it registers the demo app and the demo people for this address.</p>
</section>`;
  return demoPage(v.title, 0, content);
}
