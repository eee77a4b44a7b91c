import { html } from './html.js';
import { page } from './layout.js';

export interface ErrorView {
  status: number;
  title: string;
  message: string;
  code?: string;
}

/**
 * An error shown to the person instead of redirecting to the app (unknown client, bad
 * redirect URI…). It deliberately links nowhere: the redirect target is not trusted.
 */
export function errorPage(v: ErrorView): string {
  const body = html`<section class="card" aria-labelledby="heading">
<p class="status">Error ${v.status}</p>
<h1 id="heading">${v.title}</h1>
<div class="alert alert-error" role="alert"><p>${v.message}</p></div>
${v.code ? html`<p class="error-code">Error code: <code>${v.code}</code></p>` : undefined}
${
  v.status === 503
    ? html`<p>This is a passing problem at Tessera, not with the app. Wait a moment, then go back to the app and try again.</p>`
    : v.status === 429
      ? undefined
      : html`<p>Tessera cannot send you back to the app that sent you here. Please go back to that app and tell its developer about this problem.</p>`
}
</section>`;

  return page({ title: v.title, body });
}
