import { html, type SafeHtml } from './html.js';

/**
 * A complete HTML document around a page body. No scripts and no inline styles: all
 * styling comes from /assets/tessera.css so the pages work under a strict CSP.
 */
export function page(opts: { title: string; body: SafeHtml }): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light dark">
<title>${opts.title} · Tessera</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/tessera.css">
</head>
<body>
<header class="site-header">
<span class="brand"><span class="brand-mark" aria-hidden="true"></span>Tessera</span>
</header>
<main class="main">
${opts.body}
</main>
</body>
</html>
`.toString();
}
