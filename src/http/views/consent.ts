import { html, type SafeHtml } from './html.js';
import { page } from './layout.js';

export interface ConsentView {
  requestId: string;
  csrf: string;
  clientName: string;
  personName: string;
  username: string;
  roles: { value: string; label: string }[];
  /** What the request asks for besides its role: each by its description, else by its name. */
  scopes?: { name: string; description?: string }[];
}

/** "a Patient", "an Administrator": the indefinite article for a role label. */
function withArticle(label: string): string {
  return (/^[aeiou]/i.test(label) ? 'an ' : 'a ') + label;
}

/**
 * The scopes asked for besides the role, in plain words: each by the description the
 * operator registered, its name small beside it; one without a description by its name.
 */
function scopeList(v: ConsentView): SafeHtml | undefined {
  if (!v.scopes || v.scopes.length === 0) return undefined;
  const heading = v.roles.length === 0 ? html`${v.clientName} asks for` : html`${v.clientName} also asks for`;
  return html`<h2 class="scopes-heading">${heading}</h2>
<ul class="scopes">
${v.scopes.map((s) =>
  s.description === undefined
    ? html`<li class="scope"><span class="scope-description"><code class="scope-name">${s.name}</code></span></li>
`
    : html`<li class="scope"><span class="scope-description">${s.description}</span> <code class="scope-name">${s.name}</code></li>
`,
)}</ul>
`;
}

/** The consent page: the person allows or denies the client, picking a role if needed. */
export function consentPage(v: ConsentView): string {
  const [first] = v.roles;
  let roleChoice: SafeHtml | undefined;
  if (v.roles.length === 0) {
    // A client enabled for no role: its tokens act in none, the list below says what it gets.
    roleChoice = undefined;
  } else if (v.roles.length === 1 && first) {
    roleChoice = html`<p class="role-statement"><strong class="client-name">${v.clientName}</strong> will be able to act for you as ${withArticle(first.label)}.</p>
<input type="hidden" name="scope" value="${first.value}">`;
  } else {
    roleChoice = html`<fieldset class="choices">
<legend>Choose the role to use with ${v.clientName}</legend>
${v.roles.map(
  (r, i) => html`<div class="choice">
<input type="radio" name="scope" id="scope-${r.value}" value="${r.value}"${i === 0 ? html` checked required` : ''}>
<label for="scope-${r.value}">${r.label}</label>
</div>
`,
)}</fieldset>
<p class="note">${v.clientName} will be able to act for you in the role you choose.</p>`;
  }

  const body = html`<section class="card" aria-labelledby="heading">
<h1 id="heading">Allow ${v.clientName} to access your account?</h1>
<p class="signed-in">Signed in as <strong>${v.personName}</strong> (${v.username})</p>
<form method="post" action="/consent" class="form">
<input type="hidden" name="request" value="${v.requestId}">
<input type="hidden" name="csrf" value="${v.csrf}">
${roleChoice}
${scopeList(v)}<div class="actions">
<button type="submit" name="decision" value="allow" class="button button-primary">Allow</button>
<button type="submit" name="decision" value="deny" class="button button-secondary">Deny</button>
</div>
</form>
<form method="post" action="/login/switch" class="form form-switch">
<input type="hidden" name="request" value="${v.requestId}">
<input type="hidden" name="csrf" value="${v.csrf}">
<p>Not you? <button type="submit" class="button button-link">Sign in as someone else</button></p>
</form>
</section>`;

  return page({ title: `Allow ${v.clientName}?`, body });
}
