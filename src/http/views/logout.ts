import type { NotFollowed } from '../../oauth/logout.js';
import { html } from './html.js';
import { page } from './layout.js';

export interface LogoutConfirmView {
  csrf: string;
  personName: string;
  username: string;
  /** The app that asked, when known. */
  clientName?: string;
  /** What the confirmation posts back: the client, and the redirect only when it will be followed. */
  clientId?: string;
  postLogoutRedirectUri?: string;
  state?: string;
  /** Why the app's address will not be followed afterwards, when it sent one. */
  notFollowed?: NotFollowed;
}

const NOT_FOLLOWED: Record<NotFollowed, string> = {
  unregistered: 'The app asked to send you back to an address it has not registered with Tessera, so you stay here.',
  'no-client': 'The app asked to send you back to an address, but did not say which app it is, so you stay here.',
  'invalid-hint': 'The app sent a sign-in token Tessera cannot verify, so you are not sent back to it.',
};

/**
 * "Sign out of Tessera?": asked when the request does not prove the app knows who is
 * signed in (RP-Initiated Logout 1.0 §2), so that a link elsewhere cannot sign the person
 * out unasked. One CSRF-protected form, no scripts.
 */
export function logoutConfirmPage(v: LogoutConfirmView): string {
  const hidden = (name: string, value: string | undefined) =>
    value === undefined
      ? undefined
      : html`<input type="hidden" name="${name}" value="${value}">
`;
  const body = html`<section class="card" aria-labelledby="heading">
<h1 id="heading">Sign out of Tessera?</h1>
<p class="signed-in">Signed in as <strong>${v.personName}</strong> (${v.username})</p>
<p class="lead">${
    v.clientName
      ? html`<strong class="client-name">${v.clientName}</strong> asks to sign you out of Tessera.`
      : 'An app asks to sign you out of Tessera.'
  } Apps you have allowed keep the access you gave them.</p>
${notFollowedNote(v.notFollowed)}<form method="post" action="/oauth2/logout" class="form">
<input type="hidden" name="csrf" value="${v.csrf}">
${hidden('client_id', v.clientId)}${hidden('post_logout_redirect_uri', v.postLogoutRedirectUri)}${hidden('state', v.state)}<div class="actions">
<button type="submit" name="confirm" value="yes" class="button button-primary">Sign out</button>
</div>
</form>
<p class="note">To stay signed in, close this page.</p>
</section>`;
  return page({ title: 'Sign out?', body });
}

function notFollowedNote(reason: NotFollowed | undefined) {
  return (
    reason &&
    html`<div class="alert alert-info" role="status"><p>${NOT_FOLLOWED[reason]}</p></div>
`
  );
}

export interface SignedOutView {
  notFollowed?: NotFollowed;
}

/** "You are signed out": shown when there is no registered address to go back to. */
export function signedOutPage(v: SignedOutView): string {
  const body = html`<section class="card" aria-labelledby="heading">
<h1 id="heading">You are signed out</h1>
<p class="lead">You are no longer signed in to Tessera in this browser.</p>
${notFollowedNote(v.notFollowed)}<p class="note">You may close this page.</p>
</section>`;
  return page({ title: 'Signed out', body });
}
