/**
 * The stylesheet served at /assets/tessera.css. The pages carry no inline styles (the CSP
 * is `style-src 'self'`), so everything visual lives here. Mobile first, WCAG AA contrast
 * in both colour schemes, visible focus outlines, large touch targets.
 */
export const stylesheet = `/* Tessera */
:root {
  color-scheme: light dark;
  --bg: #f3f6f9;
  --surface: #ffffff;
  --text: #1b2733;
  --muted: #4a5968;
  --border: #c5d0db;
  --field-border: #6b7a89;
  --primary: #0b5cad;
  --primary-hover: #084a8c;
  --on-primary: #ffffff;
  --focus: #002a52;
  --error-bg: #fdecec;
  --error-border: #b3261e;
  --error-text: #8c1d18;
  --info-bg: #e8f1fb;
  --info-border: #0b5cad;
  --info-text: #0a3f75;
  --code-bg: #eef2f6;
  --radius: 0.5rem;
  --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}

@media (prefers-color-scheme: dark) {
  :root {
    --bg: #10161d;
    --surface: #18212b;
    --text: #e6edf3;
    --muted: #a9b6c3;
    --border: #394756;
    --field-border: #7d8c9b;
    --primary: #6cb2f5;
    --primary-hover: #93c7f8;
    --on-primary: #0b1620;
    --focus: #ffc940;
    --error-bg: #3a1614;
    --error-border: #f28b82;
    --error-text: #ffd7d3;
    --info-bg: #132c45;
    --info-border: #6cb2f5;
    --info-text: #d5e8fb;
    --code-bg: #0d1319;
  }
}

*, *::before, *::after { box-sizing: border-box; }

html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }

body {
  margin: 0;
  min-height: 100vh;
  background: var(--bg);
  color: var(--text);
  font-family: var(--font);
  font-size: 1.0625rem;
  line-height: 1.5;
}

/* Header */
.site-header {
  background: var(--surface);
  border-bottom: 1px solid var(--border);
  padding: 0.75rem 1rem;
}
.brand {
  display: inline-flex;
  align-items: center;
  gap: 0.5rem;
  font-weight: 700;
  font-size: 1.125rem;
  letter-spacing: 0.01em;
}
.brand-mark {
  display: inline-block;
  width: 1.25rem;
  height: 1.25rem;
  border-radius: 0.25rem;
  background:
    linear-gradient(var(--primary), var(--primary)) 0 0 / 45% 45% no-repeat,
    linear-gradient(var(--primary), var(--primary)) 100% 0 / 45% 45% no-repeat,
    linear-gradient(var(--primary), var(--primary)) 0 100% / 45% 45% no-repeat,
    linear-gradient(var(--muted), var(--muted)) 100% 100% / 45% 45% no-repeat;
}

/* Main column */
.main {
  width: 100%;
  max-width: 28rem;
  margin: 0 auto;
  padding: 1rem;
}
.main-wide { max-width: 56rem; }

.card {
  background: var(--surface);
  border: 1px solid var(--border);
  border-radius: var(--radius);
  padding: 1.25rem;
  margin: 0.5rem 0 1.5rem;
}
@media (min-width: 30rem) {
  .main { padding: 2rem 1rem; }
  .card { padding: 2rem; }
}

h1, h2, h3 { line-height: 1.25; margin: 0 0 0.75rem; }
/* Names come from clients and people: a long unbroken one must not widen the page on a phone. */
h1, h2, h3, p, legend, label, li { overflow-wrap: anywhere; }
h1 { font-size: 1.5rem; }
h2 { font-size: 1.25rem; }
h3 { font-size: 1.0625rem; }
p { margin: 0 0 1rem; }
.lead { font-size: 1.0625rem; }
.note, .signed-in, .status { color: var(--muted); font-size: 0.9375rem; }
.status { margin-bottom: 0.25rem; text-transform: uppercase; letter-spacing: 0.05em; font-weight: 600; }
.client-name { overflow-wrap: anywhere; }
.role-statement { font-size: 1.0625rem; padding: 0.75rem 1rem; margin: 0 0 1rem; border-radius: var(--radius); background: var(--info-bg); color: var(--info-text); }
.role-statement p { margin: 0 0 0.5rem; }
.role-statement p:last-child { margin-bottom: 0; }
.role-description { font-size: 0.9375rem; }
/* Error pages: what to do next, then the detail for the app's developer, folded away. */
.next { font-weight: 600; }
.developer {
  margin: 1.25rem 0 0;
  padding: 0.75rem 0 0;
  border-top: 1px solid var(--border);
  color: var(--muted);
  font-size: 0.9375rem;
}
.developer summary { cursor: pointer; padding: 0.75rem 0; }
.developer dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 0.75rem; margin: 0.5rem 0 0; }
.developer dt { font-weight: 600; }
.developer dd { margin: 0; overflow-wrap: anywhere; }
.developer code { font-weight: 600; }
.developer .error-description { color: var(--text); }
/* What a client asks for besides the role (consent page): one plain line each, the name small. */
.scopes-heading { font-size: 1.0625rem; margin-top: 0.25rem; }
.scopes { list-style: none; margin: 0 0 1rem; padding: 0; }
.scope {
  padding: 0.625rem 0.75rem;
  margin-bottom: 0.5rem;
  border-left: 4px solid var(--primary);
  border-radius: 0.25rem;
  background: var(--info-bg);
  color: var(--info-text);
}
.scope-description { display: block; }
.scope-name { display: inline-block; margin-top: 0.25rem; font-size: 0.8125rem; color: var(--muted); }
.scope-description .scope-name { margin-top: 0; }

a { color: var(--primary); text-underline-offset: 0.15em; }
a:hover { color: var(--primary-hover); }

/* Focus: always visible for keyboard users */
:focus-visible {
  outline: 3px solid var(--focus);
  outline-offset: 2px;
}
a:focus-visible, button:focus-visible, input:focus-visible {
  outline: 3px solid var(--focus);
  outline-offset: 2px;
}

/* Forms */
.form { margin: 0 0 1rem; }
.field { margin-bottom: 1rem; }
label { display: block; font-weight: 600; margin-bottom: 0.375rem; }
input[type="text"], input[type="password"], input[type="email"], input[type="url"], select, textarea {
  display: block;
  width: 100%;
  min-height: 3rem;
  padding: 0.625rem 0.75rem;
  font: inherit;
  color: var(--text);
  background: var(--surface);
  border: 2px solid var(--field-border);
  border-radius: var(--radius);
}
input[type="text"]:focus, input[type="password"]:focus {
  border-color: var(--primary);
}

fieldset {
  margin: 0 0 1rem;
  padding: 0;
  border: 0;
  min-width: 0;
}
legend {
  font-weight: 600;
  padding: 0;
  margin-bottom: 0.5rem;
}
.choices legend { font-size: 1.0625rem; }
.choice {
  display: flex;
  align-items: center;
  gap: 0.75rem;
  min-height: 3rem;
  padding: 0.25rem 0.75rem;
  margin-bottom: 0.5rem;
  border: 2px solid var(--field-border);
  border-radius: var(--radius);
  background: var(--surface);
}
.choice:has(input:checked) { border-color: var(--primary); }
.choice input[type="radio"] {
  width: 1.375rem;
  height: 1.375rem;
  margin: 0;
  flex: none;
  accent-color: var(--primary);
}
.choice label {
  flex: 1;
  margin: 0;
  padding: 0.5rem 0;
  cursor: pointer;
}
/* A role with the sentence that says what the app may do in it, under its name. */
.choice-described { align-items: flex-start; padding-top: 0.5rem; padding-bottom: 0.5rem; }
.choice-described input[type="radio"] { margin-top: 0.5rem; }
.choice-text { flex: 1; min-width: 0; }
.choice-text label { padding: 0.25rem 0 0.125rem; }
.choice-about { margin: 0; color: var(--muted); font-size: 0.9375rem; }

/* Buttons */
.actions {
  display: flex;
  flex-direction: column;
  gap: 0.75rem;
  margin-top: 1.25rem;
}
@media (min-width: 30rem) {
  .actions { flex-direction: row; }
  .actions .button { flex: 1; }
}
.button, button {
  display: inline-flex;
  align-items: center;
  justify-content: center;
  min-height: 3rem;
  padding: 0.625rem 1.25rem;
  font: inherit;
  font-weight: 600;
  border-radius: var(--radius);
  border: 2px solid var(--primary);
  background: var(--surface);
  color: var(--primary);
  cursor: pointer;
  text-decoration: none;
}
.actions .button { width: 100%; }
.button-primary {
  background: var(--primary);
  color: var(--on-primary);
}
.button-primary:hover { background: var(--primary-hover); border-color: var(--primary-hover); color: var(--on-primary); }
.button-secondary {
  background: var(--surface);
  color: var(--primary);
}
.button-secondary:hover { background: var(--info-bg); }
.button-link {
  min-height: 2.75rem;
  padding: 0.5rem 0;
  border: 0;
  background: transparent;
  color: var(--primary);
  text-decoration: underline;
  text-underline-offset: 0.15em;
  font-weight: 500;
}
.button-link:hover { color: var(--primary-hover); }
.form-switch {
  border-top: 1px solid var(--border);
  padding-top: 0.75rem;
  margin: 1.25rem 0 0;
}

/* Alerts */
.alert {
  border: 1px solid;
  border-left-width: 0.375rem;
  border-radius: var(--radius);
  padding: 0.75rem 1rem;
  margin: 0 0 1rem;
}
.alert p:last-child { margin-bottom: 0; }
.alert-error { background: var(--error-bg); border-color: var(--error-border); color: var(--error-text); }
.alert-info { background: var(--info-bg); border-color: var(--info-border); color: var(--info-text); }

/* Code, requests and responses (also used by the demo page) */
code, pre, kbd, samp { font-family: var(--mono); font-size: 0.875em; }
code {
  background: var(--code-bg);
  border-radius: 0.25rem;
  padding: 0.1em 0.35em;
  overflow-wrap: anywhere;
}
pre {
  background: var(--code-bg);
  border: 1px solid var(--border);
  border-radius: var(--radius);
  padding: 0.75rem 1rem;
  margin: 0 0 1rem;
  overflow-x: auto;
  white-space: pre-wrap;
  word-break: break-all;
  line-height: 1.45;
}
pre code { background: none; padding: 0; font-size: inherit; }

table {
  width: 100%;
  border-collapse: collapse;
  margin: 0 0 1rem;
  font-size: 0.9375rem;
}
th, td {
  text-align: left;
  vertical-align: top;
  padding: 0.5rem 0.5rem;
  border-bottom: 1px solid var(--border);
  overflow-wrap: anywhere;
}
/* A header is a word or two: never broken mid-word ("Userna/me"); a table too wide for
   the screen scrolls inside its .table-scroll wrapper instead. */
th { font-weight: 600; color: var(--muted); overflow-wrap: normal; word-break: normal; hyphens: manual; }
thead th { white-space: nowrap; }
.table-scroll { overflow-x: auto; margin: 0 0 1rem; }
.table-scroll > table { margin: 0; }

.step {
  background: var(--surface);
  border: 1px solid var(--border);
  border-radius: var(--radius);
  padding: 1rem 1.25rem;
  margin: 0 0 1.25rem;
}
.step > h2, .step > h3 { margin-top: 0; }
.step-label {
  display: inline-block;
  font-size: 0.8125rem;
  font-weight: 700;
  text-transform: uppercase;
  letter-spacing: 0.05em;
  color: var(--muted);
  margin-bottom: 0.25rem;
}

@media (prefers-reduced-motion: reduce) {
  * { transition: none !important; animation: none !important; }
}

/* The demo client (/demo): a wider column, the progress list, HTTP exchanges, secrets */
.main:has(> .demo) { max-width: 56rem; }
.demo-progress {
  list-style: none;
  counter-reset: demo-step;
  display: flex;
  flex-wrap: wrap;
  gap: 0.5rem;
  padding: 0;
  margin: 0.25rem 0 1.25rem;
  font-size: 0.875rem;
}
.demo-progress li {
  counter-increment: demo-step;
  padding: 0.25rem 0.75rem;
  border: 1px solid var(--border);
  border-radius: 999px;
  background: var(--surface);
  color: var(--muted);
}
.demo-progress li::before { content: counter(demo-step) ". "; font-weight: 700; }
.demo-progress li.done { color: var(--text); border-color: var(--primary); }
.demo-progress li.done::before { content: counter(demo-step) ". \\2713  "; }
.demo-progress li.current {
  background: var(--primary);
  border-color: var(--primary);
  color: var(--on-primary);
  font-weight: 600;
}
.demo-params caption { text-align: left; font-weight: 600; padding: 0 0 0.5rem; }
@media (min-width: 40rem) {
  .demo-params th[scope="row"] { white-space: nowrap; }
}
@media (max-width: 39.99rem) {
  .demo-params, .demo-params caption, .demo-params tbody, .demo-params tr, .demo-params th, .demo-params td { display: block; }
  .demo-params thead { display: none; }
  .demo-params tr { padding: 0.5rem 0; border-bottom: 1px solid var(--border); }
  .demo-params th, .demo-params td { padding: 0.125rem 0; border: 0; }
}
.demo-url code, .demo-http code { overflow-wrap: anywhere; }
.demo-secret {
  display: inline-block;
  margin-left: 0.25rem;
  padding: 0 0.4em;
  font-size: 0.75rem;
  font-weight: 700;
  text-transform: uppercase;
  letter-spacing: 0.05em;
  border: 1px solid var(--error-border);
  border-radius: 0.25rem;
  background: var(--error-bg);
  color: var(--error-text);
}
.demo-actions {
  display: flex;
  flex-direction: column;
  gap: 0.75rem;
  margin: 1.25rem 0 0;
}
.demo-actions .demo-form { margin: 0; }
.demo-actions .button { width: 100%; }
@media (min-width: 30rem) {
  .demo-actions { flex-direction: row; }
  .demo-actions .demo-form { flex: 1; }
}
.demo-restart { margin-top: 1rem; }

/* The demo on a phone: the same content, set tighter, so a step is a few screens, not a dozen. */
@media (max-width: 39.99rem) {
  .main:has(> .demo) { padding: 0.75rem 0.625rem; }
  .demo { font-size: 0.9375rem; line-height: 1.4; }
  .demo h1 { font-size: 1.3125rem; margin-bottom: 0.5rem; }
  .demo h2 { font-size: 1.125rem; margin-bottom: 0.5rem; }
  .demo h3 { font-size: 1rem; margin-bottom: 0.375rem; }
  .demo p { margin-bottom: 0.625rem; }
  .demo .lead { font-size: 0.9375rem; }
  .demo .note { font-size: 0.875rem; }
  .demo .step { padding: 0.75rem 0.875rem; margin-bottom: 0.75rem; }
  .demo .step-label { margin-bottom: 0; }
  .demo-progress { gap: 0.25rem; margin: 0.25rem 0 0.75rem; font-size: 0.8125rem; }
  .demo-progress li { padding: 0.0625rem 0.5rem; }
  .demo pre { font-size: 0.75rem; line-height: 1.35; padding: 0.5rem 0.625rem; margin-bottom: 0.75rem; }
  .demo .choices legend { font-size: 1rem; margin-bottom: 0.25rem; }
  .demo .choice { min-height: 2.75rem; padding: 0.125rem 0.625rem; margin-bottom: 0.375rem; }
  .demo .choice label { padding: 0.375rem 0; }
  .demo fieldset { margin-bottom: 0.75rem; }
  .demo .actions, .demo .demo-actions { margin-top: 0.75rem; gap: 0.5rem; }
  .demo .alert { padding: 0.5rem 0.75rem; margin-bottom: 0.75rem; }
  .demo .demo-params tr { padding: 0.375rem 0; }
  /* A parameter's name and value on one line where they fit, what it means below. */
  .demo .demo-params th[scope="row"], .demo .demo-params td:nth-of-type(1) { display: inline; }
  .demo .demo-params td:nth-of-type(1) { margin-left: 0.375rem; }
  .demo .demo-params td:last-child { margin-top: 0.125rem; font-size: 0.875rem; }
  .demo table { margin-bottom: 0.625rem; }
  .demo th, .demo td { padding: 0.375rem 0.375rem; }
}
`;
