import { html } from './html.js';
import { page } from './layout.js';

export interface ErrorView {
  status: number;
  /** The headline, in plain words for the person (no protocol terms). */
  title: string;
  /** What happened, in plain words. */
  message: string;
  /** `info` when nothing went wrong (a sign-in already finished): a calm note, not an alarm. */
  tone?: 'error' | 'info';
  /** What the person can do now; by default, go back to the app and start again. */
  next?: string;
  /** For the app's developer: the OAuth error code and its description (RFC 6749 §4.1.2.1). */
  developer?: { code: string; description: string };
}

const START_AGAIN = 'Go back to the app and start signing in again.';

/**
 * A page shown to the person instead of going back to the app (unknown client, bad
 * redirect URI, an expired sign-in…): the headline and what to do in plain words, then
 * the technical detail for the app's developer. It deliberately links nowhere: the
 * redirect target is not trusted.
 */
export function errorPage(v: ErrorView): string {
  const body = html`<section class="card" aria-labelledby="heading">
<h1 id="heading">${v.title}</h1>
${
  v.tone === 'info'
    ? html`<div class="alert alert-info" role="status"><p>${v.message}</p></div>`
    : html`<div class="alert alert-error" role="alert"><p>${v.message}</p></div>`
}
<p class="next">${v.next ?? START_AGAIN}</p>
${
  v.developer &&
  html`<details class="developer">
<summary>Details for the app's developer</summary>
<dl>
<dt>Error</dt><dd><code>${v.developer.code}</code></dd>
<dt>Description</dt><dd class="error-description">${v.developer.description}</dd>
<dt>Status</dt><dd>${v.status}</dd>
</dl>
</details>`
}
</section>`;

  return page({ title: v.title, body });
}

/** The page for an address where there is nothing (404): a page of its own, not a protocol error. */
export function notFoundPage(): string {
  const body = html`<section class="card" aria-labelledby="heading">
<h1 id="heading">Page not found</h1>
<p class="lead">There is no page at this address. The link may be old, or part of it may be missing.</p>
<p class="next">Check the address, or go back to the app that sent you here.</p>
</section>`;
  return page({ title: 'Page not found', body });
}

/** What an error means for the person: headline, what happened, what to do. */
export interface PlainWords {
  title: string;
  message: string;
  next?: string;
}

/**
 * The plain words for an error of the authorization endpoint that is shown rather than
 * sent to the app (RFC 6749 §4.1.2.1: the client or its redirect URI is in doubt), or
 * for a failure of one of the sign-in pages. The error's own description goes to the
 * developer part of the page.
 */
export function plainWordsFor(error: { code: string; description: string; status: number }): PlainWords {
  if (error.status === 503) {
    return {
      title: 'Please try again shortly',
      message: 'Tessera is busy or briefly unavailable. This is a passing problem at Tessera, not with the app.',
      next: 'Wait a moment, then go back to the app and try again.',
    };
  }
  if (error.status >= 500) {
    return {
      title: 'Something went wrong at Tessera',
      message: 'Tessera could not finish your sign-in because of a problem on its side.',
      next: 'Wait a moment, then go back to the app and try again.',
    };
  }
  const d = error.description;
  if (/client is disabled/i.test(d)) {
    return {
      title: 'This app cannot sign you in right now',
      message:
        'The app that sent you here has been switched off at Tessera, so you cannot sign in to it at the moment.',
      next: 'Go back to the app. If it keeps sending you here, contact the people who run the app.',
    };
  }
  if (/client_id/i.test(d)) {
    return {
      title: "This app's sign-in link is not valid",
      message: 'Tessera does not know the app that sent you here, so you cannot sign in to it from this link.',
      next: 'Go back to the app and try again. If it keeps sending you here, contact the people who run the app.',
    };
  }
  if (/redirect/i.test(d)) {
    return {
      title: "This app's sign-in link is not valid",
      message:
        'The link asks Tessera to send you back to an address it does not know for this app. To keep your account safe, Tessera will not send you there.',
      next: 'Go back to the app and try again. If it keeps sending you here, contact the people who run the app.',
    };
  }
  return {
    title: "This app's sign-in link is not valid",
    message:
      'The link that brought you here is incomplete or damaged, so Tessera cannot tell what the app is asking for.',
    next: 'Go back to the app and try again. If it keeps sending you here, contact the people who run the app.',
  };
}
