import { html, type SafeHtml } from './html.js';
import { page } from './layout.js';

export interface ConsentView {
  requestId: string;
  csrf: string;
  clientName: string;
  personName: string;
  username: string;
  /** The roles on offer, each with what the app may do in it, in one sentence. */
  roles: { value: string; label: string; description: string }[];
  /** Shown when Allow was pressed without choosing one of several roles. */
  chooseRole?: boolean;
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

const ROLE_ERROR_ID = 'role-error';

/**
 * The consent page: the person allows or denies the client. With several roles on offer
 * none is chosen beforehand: the person picks one (the radios are required; Deny skips
 * that check), and the server refuses Allow without a choice too.
 */
export function consentPage(v: ConsentView): string {
  const [first] = v.roles;
  let roleChoice: SafeHtml | undefined;
  if (v.roles.length === 0) {
    // A client enabled for no role: its tokens act in none, the list below says what it gets.
    roleChoice = undefined;
  } else if (v.roles.length === 1 && first) {
    roleChoice = html`<div class="role-statement">
<p><strong class="client-name">${v.clientName}</strong> will be able to act for you as ${withArticle(first.label)}.</p>
<p class="role-description">${first.description}</p>
</div>
<input type="hidden" name="scope" value="${first.value}">`;
  } else {
    const error = v.chooseRole
      ? html`<div class="alert alert-error" role="alert"><p id="${ROLE_ERROR_ID}">Choose a role: pick the one ${v.clientName} should act in, then press Allow.</p></div>
`
      : undefined;
    roleChoice = html`${error}<fieldset class="choices"${v.chooseRole ? html` aria-describedby="${ROLE_ERROR_ID}"` : undefined}>
<legend>Choose the role to use with ${v.clientName}</legend>
${v.roles.map(
  (r, i) => html`<div class="choice choice-described">
<input type="radio" name="scope" id="scope-${r.value}" value="${r.value}" aria-describedby="scope-${r.value}-about" required${
    v.chooseRole && i === 0 ? html` autofocus` : undefined
  }>
<div class="choice-text">
<label for="scope-${r.value}">${r.label}</label>
<p class="choice-about" id="scope-${r.value}-about">${r.description}</p>
</div>
</div>
`,
)}</fieldset>
<p class="note">${v.clientName} will be able to act for you only in the role you choose.</p>`;
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
<button type="submit" name="decision" value="deny" formnovalidate class="button button-secondary">Deny</button>
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
