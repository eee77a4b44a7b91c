import { describe, expect, it } from 'vitest';
import { stylesheet } from '../../src/http/views/assets.js';
import { consentPage } from '../../src/http/views/consent.js';
import { errorPage, notFoundPage, plainWordsFor } from '../../src/http/views/error.js';
import { escapeHtml, html, SafeHtml } from '../../src/http/views/html.js';
import { page } from '../../src/http/views/layout.js';
import { loginPage } from '../../src/http/views/login.js';

const EVIL = `<script>alert("x")</script> & 'quoted'`;
const EVIL_ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;';

const ROLE = { value: 'PATIENT', label: 'Patient', description: 'See your own record.' };
const THREE_ROLES = [
  ROLE,
  { value: 'CLINICIAN', label: 'Clinician', description: 'See the records patients share with you.' },
  { value: 'TEAMCOORD', label: 'Team coordinator', description: "Run your team's administration." },
];

/** The opening tag of the element carrying `attr` (e.g. `id="username"`). */
function tagWith(doc: string, attr: string): string {
  const i = doc.indexOf(attr);
  expect(i, `no element with ${attr}`).toBeGreaterThanOrEqual(0);
  const start = doc.lastIndexOf('<', i);
  const end = doc.indexOf('>', i);
  return doc.slice(start, end + 1);
}

/** Text between `<label for="id">` and `</label>`. */
function labelFor(doc: string, id: string): string | undefined {
  const m = new RegExp(`<label for="${id}">([^<]*)</label>`).exec(doc);
  return m?.[1];
}

function countOf(doc: string, needle: string): number {
  return doc.split(needle).length - 1;
}

function expectNoActiveContent(doc: string): void {
  expect(doc.toLowerCase()).not.toContain('<script');
  expect(doc.toLowerCase()).not.toContain('style=');
  expect(doc.toLowerCase()).not.toContain('<style');
  expect(doc).not.toMatch(/\son[a-z]+=/i); // no inline event handlers
}

function expectDocument(doc: string): void {
  expect(doc.startsWith('<!doctype html>')).toBe(true);
  expect(doc).toContain('<html lang="en">');
  expect(doc).toContain('<meta charset="utf-8">');
  expect(doc).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  expect(doc).toContain('<meta name="referrer" content="no-referrer">');
  expect(doc).toContain('<link rel="stylesheet" href="/assets/tessera.css">');
  expect(doc).toContain('Tessera</span>');
  expect(doc).toContain('<main');
}

describe('escapeHtml', () => {
  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('escapes ampersands first so entities are not double-decoded', () => {
    expect(escapeHtml('&lt;')).toBe('&amp;lt;');
  });

  it('leaves ordinary text alone', () => {
    expect(escapeHtml('Dr. Zoë Ōkubo — 100%')).toBe('Dr. Zoë Ōkubo — 100%');
  });
});

describe('html tagged template', () => {
  it('escapes interpolated strings', () => {
    expect(html`<p>${EVIL}</p>`.value).toBe(`<p>${EVIL_ESCAPED}</p>`);
  });

  it('escapes values inside attributes', () => {
    expect(html`<input value="${'" autofocus onfocus="x'}">`.value).toBe(
      '<input value="&quot; autofocus onfocus=&quot;x">',
    );
  });

  it('passes SafeHtml through unescaped', () => {
    const inner = html`<b>${'a&b'}</b>`;
    expect(inner).toBeInstanceOf(SafeHtml);
    expect(html`<p>${inner}</p>`.value).toBe('<p><b>a&amp;b</b></p>');
    expect(html`${new SafeHtml('<br>')}`.value).toBe('<br>');
  });

  it('joins arrays, escaping each element unless it is SafeHtml', () => {
    const out = html`<ul>${['<a>', html`<li>ok</li>`, 'x&y']}</ul>`.value;
    expect(out).toBe('<ul>&lt;a&gt;<li>ok</li>x&amp;y</ul>');
  });

  it('renders undefined, null and false as nothing, numbers and 0 as text', () => {
    expect(html`[${undefined}|${null}|${false}|${0}|${42}]`.value).toBe('[|||0|42]');
  });

  it('toString returns the markup', () => {
    expect(String(html`<i>${'<'}</i>`)).toBe('<i>&lt;</i>');
    expect(`${new SafeHtml('<hr>')}`).toBe('<hr>');
  });
});

describe('page layout', () => {
  it('is a complete HTML5 document with the title suffixed', () => {
    const doc = page({ title: 'Hello', body: html`<p>body</p>` });
    expectDocument(doc);
    expect(doc).toContain('<title>Hello · Tessera</title>');
    expect(doc).toContain('<p>body</p>');
    expectNoActiveContent(doc);
  });

  it('escapes the title', () => {
    const doc = page({ title: EVIL, body: html`` });
    expect(doc).toContain(`<title>${EVIL_ESCAPED} · Tessera</title>`);
    expect(doc).not.toContain('<script>');
  });
});

describe('loginPage', () => {
  const base = { requestId: 'req-123', csrf: 'csrf-abc', clientName: 'Health Diary' };

  it('has a form posting to /login with hidden request and csrf', () => {
    const doc = loginPage(base);
    expectDocument(doc);
    expect(doc).toContain('<form method="post" action="/login"');
    expect(doc).toContain('<input type="hidden" name="request" value="req-123">');
    expect(doc).toContain('<input type="hidden" name="csrf" value="csrf-abc">');
    expect(doc).toContain('<h1 id="heading">Sign in</h1>');
    expect(doc).toContain('Health Diary</strong> wants to access your account');
    expect(doc).toContain('<title>Sign in · Tessera</title>');
    expect(doc).not.toMatch(/name="(next|return_to)"/);
  });

  it('binds the Username and Password labels to their inputs', () => {
    const doc = loginPage(base);
    expect(labelFor(doc, 'username')).toBe('Username');
    expect(labelFor(doc, 'password')).toBe('Password');

    const user = tagWith(doc, 'id="username"');
    expect(user).toContain('type="text"');
    expect(user).toContain('name="username"');
    expect(user).toContain('autocomplete="username"');
    expect(user).toContain('autocapitalize="none"');
    expect(user).toMatch(/\brequired\b/);

    const pass = tagWith(doc, 'id="password"');
    expect(pass).toContain('type="password"');
    expect(pass).toContain('name="password"');
    expect(pass).toContain('autocomplete="current-password"');
    expect(pass).toMatch(/\brequired\b/);
    expect(pass).not.toContain('value=');

    expect(doc).toContain('<button type="submit" class="button button-primary">Sign in</button>');
    expect(doc).toMatch(/<button type="submit"[^>]*>Sign in<\/button>/);
  });

  it('pre-fills the username but never the password', () => {
    const doc = loginPage({ ...base, username: 'alice' });
    expect(tagWith(doc, 'id="username"')).toContain('value="alice"');
    expect(tagWith(doc, 'id="password"')).not.toContain('value');
  });

  it('shows no alert without a message', () => {
    const doc = loginPage(base);
    expect(doc).not.toContain('role="alert"');
    expect(doc).not.toContain('class="alert');
  });

  it('shows an error message in a role="alert" box above the form', () => {
    const doc = loginPage({ ...base, message: { kind: 'error', text: 'Wrong username or password.' } });
    const alert = tagWith(doc, 'role="alert"');
    expect(alert).toContain('alert-error');
    expect(doc).toContain('Wrong username or password.');
    expect(doc.indexOf('role="alert"')).toBeLessThan(doc.indexOf('<form'));
  });

  it('shows an info message with a distinct class and no alert role', () => {
    const doc = loginPage({ ...base, message: { kind: 'info', text: 'Signed out.' } });
    expect(doc).toContain('alert-info');
    expect(doc).not.toContain('alert-error');
    expect(doc).not.toContain('role="alert"');
    expect(doc).toContain('Signed out.');
    expect(doc.indexOf('Signed out.')).toBeLessThan(doc.indexOf('<form'));
  });

  it('escapes every interpolated field', () => {
    const doc = loginPage({
      requestId: EVIL,
      csrf: EVIL,
      clientName: EVIL,
      username: EVIL,
      message: { kind: 'error', text: EVIL },
    });
    expect(doc).not.toContain('<script>');
    expect(doc).not.toContain(`"x"`);
    expect(doc).toContain(`<input type="hidden" name="request" value="${EVIL_ESCAPED}">`);
    expect(doc).toContain(`<input type="hidden" name="csrf" value="${EVIL_ESCAPED}">`);
    expect(tagWith(doc, 'id="username"')).toContain(`value="${EVIL_ESCAPED}"`);
    expect(doc).toContain(`${EVIL_ESCAPED}</strong> wants to access`);
    expect(doc).toContain(`<p id="login-message">${EVIL_ESCAPED}</p>`);
    expectNoActiveContent(doc);
  });

  it('puts the cursor in the first empty field: Username, or Password once the username is there', () => {
    const empty = loginPage(base);
    expect(tagWith(empty, 'id="username"')).toMatch(/\bautofocus\b/);
    expect(tagWith(empty, 'id="password"')).not.toMatch(/\bautofocus\b/);
    const kept = loginPage({ ...base, username: 'alice' });
    expect(tagWith(kept, 'id="username"')).not.toMatch(/\bautofocus\b/);
    expect(tagWith(kept, 'id="password"')).toMatch(/\bautofocus\b/);
    expect(countOf(kept, 'autofocus')).toBe(1);
  });

  it('ties an error to the fields it is about (aria-describedby) and marks the wrong ones (aria-invalid)', () => {
    const doc = loginPage({
      ...base,
      username: 'alice',
      message: { kind: 'error', text: 'Wrong.', about: ['username', 'password'], invalid: ['password'] },
    });
    expect(doc).toContain('<p id="login-message">Wrong.</p>');
    expect(tagWith(doc, 'id="username"')).toContain('aria-describedby="login-message"');
    expect(tagWith(doc, 'id="password"')).toContain('aria-describedby="login-message"');
    expect(tagWith(doc, 'id="username"')).not.toContain('aria-invalid');
    expect(tagWith(doc, 'id="password"')).toContain('aria-invalid="true"');
    // Without a message nothing points anywhere.
    expect(loginPage(base)).not.toMatch(/aria-describedby|aria-invalid/);
  });

  it('has a Cancel button that posts the same form (request and CSRF token) to /login/cancel, unvalidated', () => {
    const doc = loginPage(base);
    const cancel = tagWith(doc, 'formaction="/login/cancel"');
    expect(cancel).toContain('type="submit"');
    expect(cancel).toMatch(/\bformnovalidate\b/);
    expect(doc).toMatch(/formaction="\/login\/cancel"[^>]*>Cancel<\/button>/);
    // Sign in comes first, so Enter in a field signs in.
    expect(doc.indexOf('>Sign in</button>')).toBeLessThan(doc.indexOf('>Cancel</button>'));
    const form = doc.slice(doc.indexOf('<form'), doc.indexOf('</form>'));
    expect(form).toContain('formaction="/login/cancel"');
    expect(form).toContain('name="csrf" value="csrf-abc"');
  });

  it('contains no scripts or inline styles', () => {
    expectNoActiveContent(loginPage({ ...base, username: 'a', message: { kind: 'error', text: 'e' } }));
    expectNoActiveContent(loginPage({ ...base, message: { kind: 'info', text: 'i' } }));
  });
});

describe('consentPage', () => {
  const base = {
    requestId: 'req-123',
    csrf: 'csrf-abc',
    clientName: 'Health Diary',
    personName: 'Alice Example',
    username: 'alice',
  };

  it('names the client, the person and has Allow and Deny buttons', () => {
    const doc = consentPage({ ...base, roles: [ROLE] });
    expectDocument(doc);
    expect(doc).toContain('Allow Health Diary to access your account?');
    expect(doc).toContain('<title>Allow Health Diary? · Tessera</title>');
    expect(doc).toContain('Signed in as <strong>Alice Example</strong> (alice)');
    expect(doc).toContain('<form method="post" action="/consent"');
    expect(doc).toMatch(/<button type="submit" name="decision" value="allow"[^>]*>Allow<\/button>/);
    expect(doc).toMatch(/<button type="submit" name="decision" value="deny"[^>]*>Deny<\/button>/);
    expect(tagWith(doc, 'value="allow"')).toContain('button-primary');
    expect(tagWith(doc, 'value="deny"')).not.toContain('button-primary');
    // Allow comes first in the document, so it is the default button of the form.
    expect(doc.indexOf('value="allow"')).toBeLessThan(doc.indexOf('value="deny"'));
  });

  it('carries hidden request and csrf in both the consent and the switch forms', () => {
    const doc = consentPage({ ...base, roles: [ROLE] });
    expect(countOf(doc, '<input type="hidden" name="request" value="req-123">')).toBe(2);
    expect(countOf(doc, '<input type="hidden" name="csrf" value="csrf-abc">')).toBe(2);
    const consentForm = doc.slice(doc.indexOf('action="/consent"'), doc.indexOf('</form>'));
    expect(consentForm).toContain('name="request" value="req-123"');
    expect(consentForm).toContain('name="csrf" value="csrf-abc"');
    const switchForm = doc.slice(doc.indexOf('action="/login/switch"'));
    expect(doc).toContain('<form method="post" action="/login/switch"');
    expect(switchForm).toContain('name="request" value="req-123"');
    expect(switchForm).toContain('name="csrf" value="csrf-abc"');
    expect(switchForm).toMatch(/<button type="submit"[^>]*>Sign in as someone else<\/button>/);
  });

  it('with one role: states it in words, sends it hidden, shows no radio', () => {
    const doc = consentPage({ ...base, roles: [ROLE] });
    expect(doc).toContain('Health Diary</strong> will be able to act for you as a Patient.');
    expect(doc).toContain('<input type="hidden" name="scope" value="PATIENT">');
    expect(doc).not.toContain('type="radio"');
    expect(doc).not.toContain('<fieldset');
  });

  it('uses "an" before a label starting with a vowel', () => {
    const doc = consentPage({ ...base, roles: [{ value: 'ADMIN', label: 'Administrator', description: 'd' }] });
    expect(doc).toContain('act for you as an Administrator.');
  });

  it('with three roles: a fieldset of radios, labelled and bound, none checked, all required', () => {
    const doc = consentPage({ ...base, roles: THREE_ROLES });
    expect(doc).toContain('<fieldset');
    expect(doc).toContain('<legend>Choose the role to use with Health Diary</legend>');
    expect(countOf(doc, 'type="radio"')).toBe(3);
    expect(doc).not.toContain('type="hidden" name="scope"');

    for (const r of THREE_ROLES) {
      const radio = tagWith(doc, `id="scope-${r.value}"`);
      expect(radio).toContain('type="radio"');
      expect(radio).toContain('name="scope"');
      expect(radio).toContain(`value="${r.value}"`);
      expect(labelFor(doc, `scope-${r.value}`)).toBe(r.label);
    }
    // The person chooses: nothing is pre-selected, and each radio is required.
    for (const r of THREE_ROLES) {
      expect(tagWith(doc, `id="scope-${r.value}"`)).not.toMatch(/\bchecked\b/);
      expect(tagWith(doc, `id="scope-${r.value}"`)).toMatch(/\brequired\b/);
    }
    expect(countOf(doc, 'checked')).toBe(0);

    // radios sit inside the consent form, so the chosen role is submitted with Allow
    const consentForm = doc.slice(doc.indexOf('action="/consent"'), doc.indexOf('</form>'));
    expect(countOf(consentForm, 'type="radio"')).toBe(3);
  });

  it('says in one sentence per role what the app may do in it, tied to its radio', () => {
    const doc = consentPage({ ...base, roles: THREE_ROLES });
    for (const r of THREE_ROLES) {
      expect(doc).toContain(`<p class="choice-about" id="scope-${r.value}-about">${escapeHtml(r.description)}</p>`);
      expect(tagWith(doc, `id="scope-${r.value}"`)).toContain(`aria-describedby="scope-${r.value}-about"`);
    }
    const single = consentPage({ ...base, roles: [ROLE] });
    expect(single).toContain('<p class="role-description">See your own record.</p>');
  });

  it('after Allow without a choice: says so, ties the message to the choice, and Deny needs no choice', () => {
    const doc = consentPage({ ...base, roles: THREE_ROLES, chooseRole: true });
    expect(tagWith(doc, 'role="alert"')).toContain('alert-error');
    expect(doc).toMatch(/<p id="role-error">Choose a role: [^<]*then press Allow\.<\/p>/);
    expect(tagWith(doc, '<fieldset')).toContain('aria-describedby="role-error"');
    expect(countOf(doc, 'checked')).toBe(0);
    expect(tagWith(doc, 'value="deny"')).toMatch(/\bformnovalidate\b/);
    expect(consentPage({ ...base, roles: THREE_ROLES })).not.toContain('role="alert"');
  });

  it('escapes every interpolated field', () => {
    const doc = consentPage({
      requestId: EVIL,
      csrf: EVIL,
      clientName: EVIL,
      personName: EVIL,
      username: EVIL,
      roles: [
        { value: EVIL, label: EVIL, description: EVIL },
        { value: 'CLINICIAN', label: 'Clinician', description: 'c' },
      ],
    });
    expect(doc).not.toContain('<script>');
    expect(doc).not.toContain(`"x"`);
    expect(countOf(doc, `<input type="hidden" name="request" value="${EVIL_ESCAPED}">`)).toBe(2);
    expect(countOf(doc, `<input type="hidden" name="csrf" value="${EVIL_ESCAPED}">`)).toBe(2);
    expect(doc).toContain(`Allow ${EVIL_ESCAPED} to access your account?`);
    expect(doc).toContain(`<title>Allow ${EVIL_ESCAPED}? · Tessera</title>`);
    expect(doc).toContain(`Signed in as <strong>${EVIL_ESCAPED}</strong> (${EVIL_ESCAPED})`);
    expect(doc).toContain(`<legend>Choose the role to use with ${EVIL_ESCAPED}</legend>`);
    expect(doc).toContain(`value="${EVIL_ESCAPED}"`);
    expect(doc).toContain(`<label for="scope-${EVIL_ESCAPED}">${EVIL_ESCAPED}</label>`);
    expectNoActiveContent(doc);

    const single = consentPage({ ...base, clientName: EVIL, roles: [{ value: EVIL, label: EVIL, description: EVIL }] });
    expect(single).toContain(`<input type="hidden" name="scope" value="${EVIL_ESCAPED}">`);
    expect(single).toContain(`${EVIL_ESCAPED}</strong> will be able to act for you as`);
    expect(single).not.toContain('<script>');
    expectNoActiveContent(single);
  });

  it('contains no scripts or inline styles', () => {
    expectNoActiveContent(consentPage({ ...base, roles: [ROLE] }));
    expectNoActiveContent(consentPage({ ...base, roles: THREE_ROLES }));
  });
});

describe('errorPage', () => {
  const view = {
    status: 400,
    title: "This app's sign-in link is not valid",
    message: 'Tessera does not know the app that sent you here.',
    next: 'Go back to the app and try again.',
    developer: { code: 'invalid_request', description: 'The client_id is not known to this server' },
  };

  it('shows the headline, what happened and what to do, then the detail for the developer; no links', () => {
    const doc = errorPage(view);
    expectDocument(doc);
    expect(doc).toContain(`<title>${escapeHtml(view.title)} · Tessera</title>`);
    expect(doc).toContain(`<h1 id="heading">${escapeHtml(view.title)}</h1>`);
    expect(doc).toContain('Tessera does not know the app that sent you here.');
    expect(doc).toContain('<p class="next">Go back to the app and try again.</p>');
    const developer = doc.slice(doc.indexOf('<details class="developer">'));
    expect(developer).toContain("<summary>Details for the app's developer</summary>");
    expect(developer).toContain('<code>invalid_request</code>');
    expect(developer).toContain('The client_id is not known to this server');
    // The protocol's words stay in the developer part, out of the headline and message.
    expect(doc.slice(0, doc.indexOf('<details'))).not.toMatch(/client_id|redirect_uri|invalid_request/);
    expect(doc).not.toMatch(/report|bug/i);
    expect(doc).not.toContain('<a ');
    expect(doc).not.toContain('<form');
    expect(doc).not.toContain('http-equiv');
    expectNoActiveContent(doc);
  });

  it('shows a calm status note rather than an alert when nothing went wrong', () => {
    const doc = errorPage({ status: 400, title: 'Finished', message: 'You already chose Allow.', tone: 'info' });
    expect(doc).toContain('<div class="alert alert-info" role="status"><p>You already chose Allow.</p></div>');
    expect(doc).not.toContain('role="alert"');
    expect(errorPage(view)).toContain('<div class="alert alert-error" role="alert">');
  });

  it('has no developer part without an error code, and says to start again by default', () => {
    const doc = errorPage({ status: 400, title: 'Bad request', message: 'Nope.' });
    expect(doc).not.toContain('<details');
    expect(doc).not.toContain('<code');
    expect(doc).toContain('Nope.');
    expect(doc).toContain('<p class="next">Go back to the app and start signing in again.</p>');
  });

  it('escapes every interpolated field', () => {
    const doc = errorPage({
      status: 400,
      title: EVIL,
      message: EVIL,
      next: EVIL,
      developer: { code: EVIL, description: EVIL },
    });
    expect(doc).not.toContain('<script>');
    expect(doc).not.toContain(`"x"`);
    expect(doc).toContain(`<title>${EVIL_ESCAPED} · Tessera</title>`);
    expect(doc).toContain(`<h1 id="heading">${EVIL_ESCAPED}</h1>`);
    expect(doc).toContain(`<p>${EVIL_ESCAPED}</p>`);
    expect(doc).toContain(`<p class="next">${EVIL_ESCAPED}</p>`);
    expect(doc).toContain(`<code>${EVIL_ESCAPED}</code>`);
    expectNoActiveContent(doc);
  });
});

describe('plainWordsFor', () => {
  // Every description the authorization endpoint shows on a page rather than redirecting
  // (oauth/authorize.ts, oauth/redirect-uri.ts): a headline in plain words for each.
  it.each([
    ['The client_id parameter is missing', "This app's sign-in link is not valid", /does not know the app/],
    ['The client_id is not known to this server', "This app's sign-in link is not valid", /does not know the app/],
    ['The client_id parameter was sent more than once', "This app's sign-in link is not valid", /does not know/],
    ['This client is disabled', 'This app cannot sign you in right now', /switched off/],
    ['redirect_uri is not registered for this client', "This app's sign-in link is not valid", /send you back/],
    [
      'redirect_uri is required because this client has several registered',
      "This app's sign-in link is not valid",
      /send you back/,
    ],
    ['this client has no registered redirect URI', "This app's sign-in link is not valid", /send you back/],
    ['The state parameter is too long', "This app's sign-in link is not valid", /incomplete or damaged/],
  ])('%s', (description, title, message) => {
    const words = plainWordsFor({ code: 'invalid_request', description, status: 400 });
    expect(words.title).toBe(title);
    expect(words.message).toMatch(message);
    for (const text of [words.title, words.message, words.next ?? '']) {
      expect(text).not.toMatch(/client_id|redirect_uri|invalid_request|report|bug/i);
    }
  });

  it("says a 503 is passing and a 500 is on Tessera's side, both to try again", () => {
    expect(plainWordsFor({ code: 'temporarily_unavailable', description: 'x', status: 503 })).toMatchObject({
      title: 'Please try again shortly',
      next: expect.stringMatching(/try again/),
    });
    expect(plainWordsFor({ code: 'server_error', description: 'x', status: 500 })).toMatchObject({
      title: 'Something went wrong at Tessera',
      next: expect.stringMatching(/try again/),
    });
  });
});

describe('notFoundPage', () => {
  it('is a page of its own in plain words, with no protocol terms', () => {
    const doc = notFoundPage();
    expectDocument(doc);
    expect(doc).toContain('<h1 id="heading">Page not found</h1>');
    expect(doc).toContain('<title>Page not found · Tessera</title>');
    expect(doc).not.toMatch(/not_found|invalid_request|<details/);
    expectNoActiveContent(doc);
  });
});

describe('stylesheet', () => {
  it('covers the classes the views use and the demo page needs', () => {
    for (const sel of [
      '.main',
      '.card',
      '.button-primary',
      '.button-secondary',
      '.button-link',
      '.alert-error',
      '.alert-info',
      'fieldset',
      'legend',
      '.choice',
      ':focus-visible',
      'pre',
      'code',
      'table',
      '.step',
      'max-width: 28rem',
      'prefers-color-scheme: dark',
    ]) {
      expect(stylesheet, sel).toContain(sel);
    }
  });

  it('is plain CSS with no markup or remote imports', () => {
    expect(stylesheet).not.toContain('<');
    expect(stylesheet).not.toContain('@import');
    expect(stylesheet).not.toMatch(/url\(/);
    expect(countOf(stylesheet, '{')).toBe(countOf(stylesheet, '}'));
  });

  it('every class used by the pages is styled', () => {
    const docs = [
      loginPage({ requestId: 'r', csrf: 'c', clientName: 'A', message: { kind: 'error', text: 'e' } }),
      loginPage({ requestId: 'r', csrf: 'c', clientName: 'A', message: { kind: 'info', text: 'i' } }),
      consentPage({ requestId: 'r', csrf: 'c', clientName: 'A', personName: 'P', username: 'u', roles: [ROLE] }),
      consentPage({ requestId: 'r', csrf: 'c', clientName: 'A', personName: 'P', username: 'u', roles: THREE_ROLES }),
      consentPage({
        requestId: 'r',
        csrf: 'c',
        clientName: 'A',
        personName: 'P',
        username: 'u',
        roles: THREE_ROLES,
        chooseRole: true,
      }),
      errorPage({ status: 400, title: 't', message: 'm', developer: { code: 'c', description: 'd' } }),
      notFoundPage(),
    ];
    const classes = new Set<string>();
    for (const doc of docs) {
      for (const m of doc.matchAll(/class="([^"]*)"/g)) {
        for (const c of (m[1] ?? '').split(/\s+/)) if (c) classes.add(c);
      }
    }
    // purely semantic hooks that need no rule of their own
    const unstyled = new Set(['button']);
    for (const c of classes) {
      if (unstyled.has(c)) continue;
      expect(stylesheet, `.${c}`).toMatch(new RegExp(`\\.${c}(?![\\w-])`));
    }
  });
});
