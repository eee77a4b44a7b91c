import { html } from './html.js';
import { page } from './layout.js';

/** The sign-in form's fields, which an error message may be about. */
export type LoginField = 'username' | 'password';

export interface LoginView {
  requestId: string;
  csrf: string;
  clientName: string;
  message?: {
    kind: 'error' | 'info';
    text: string;
    /** The fields the message is about: they point at it (aria-describedby). */
    about?: LoginField[];
    /** The fields marked as wrong (aria-invalid). */
    invalid?: LoginField[];
  };
  username?: string;
}

const MESSAGE_ID = 'login-message';

/**
 * The sign-in page shown during an authorization request. Posts to /login; Cancel posts
 * the same form to /login/cancel, which ends the request with access_denied at the app.
 * The cursor starts in the first empty field; a message about the fields is tied to them
 * for screen readers (WCAG 2.2 SC 3.3.1).
 */
export function loginPage(v: LoginView): string {
  const { message } = v;
  const text = message && html`<p id="${MESSAGE_ID}">${message.text}</p>`;
  const alert = message
    ? message.kind === 'error'
      ? html`<div class="alert alert-error" role="alert">${text}</div>`
      : html`<div class="alert alert-info" role="status">${text}</div>`
    : undefined;
  const username = v.username ?? '';
  const focus: LoginField = username === '' ? 'username' : 'password';
  const state = (field: LoginField) =>
    html`${message?.about?.includes(field) ? html` aria-describedby="${MESSAGE_ID}"` : undefined}${
      message?.invalid?.includes(field) ? html` aria-invalid="true"` : undefined
    }${focus === field ? html` autofocus` : undefined}`;

  const body = html`<section class="card" aria-labelledby="heading">
<h1 id="heading">Sign in</h1>
<p class="lead"><strong class="client-name">${v.clientName}</strong> wants to access your account.</p>
${alert}
<form method="post" action="/login" class="form">
<input type="hidden" name="request" value="${v.requestId}">
<input type="hidden" name="csrf" value="${v.csrf}">
<div class="field">
<label for="username">Username</label>
<input type="text" name="username" id="username" value="${username}" autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" required${state('username')}>
</div>
<div class="field">
<label for="password">Password</label>
<input type="password" name="password" id="password" autocomplete="current-password" required${state('password')}>
</div>
<div class="actions">
<button type="submit" class="button button-primary">Sign in</button>
<button type="submit" formaction="/login/cancel" formnovalidate class="button button-secondary">Cancel</button>
</div>
</form>
<p class="note">Only sign in if you trust this app. Tessera never shares your password with it. Cancel takes you back to the app without signing in.</p>
</section>`;

  return page({ title: 'Sign in', body });
}
