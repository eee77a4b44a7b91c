import { html } from './html.js';
import { page } from './layout.js';

export interface LoginView {
  requestId: string;
  csrf: string;
  clientName: string;
  message?: { kind: 'error' | 'info'; text: string };
  username?: string;
}

/** The sign-in page shown during an authorization request. Posts to /login. */
export function loginPage(v: LoginView): string {
  const message = v.message
    ? v.message.kind === 'error'
      ? html`<div class="alert alert-error" role="alert"><p>${v.message.text}</p></div>`
      : html`<div class="alert alert-info" role="status"><p>${v.message.text}</p></div>`
    : undefined;

  const body = html`<section class="card" aria-labelledby="heading">
<h1 id="heading">Sign in</h1>
<p class="lead"><strong class="client-name">${v.clientName}</strong> wants to access your account.</p>
${message}
<form method="post" action="/login" class="form">
<input type="hidden" name="request" value="${v.requestId}">
<input type="hidden" name="csrf" value="${v.csrf}">
<div class="field">
<label for="username">Username</label>
<input type="text" name="username" id="username" value="${v.username ?? ''}" autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" required>
</div>
<div class="field">
<label for="password">Password</label>
<input type="password" name="password" id="password" autocomplete="current-password" required>
</div>
<div class="actions">
<button type="submit" class="button button-primary">Sign in</button>
</div>
</form>
<p class="note">Only sign in if you trust this app. Tessera never shares your password with it.</p>
</section>`;

  return page({ title: 'Sign in', body });
}
