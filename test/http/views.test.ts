import { describe, expect, it } from 'vitest';
import { stylesheet } from '../../src/http/views/assets.js';
import { consentPage } from '../../src/http/views/consent.js';
import { errorPage } from '../../src/http/views/error.js';
import { escapeHtml, html, SafeHtml } from '../../src/http/views/html.js';
import { page } from '../../src/http/views/layout.js';
import { loginPage } from '../../src/http/views/login.js';

const EVIL = `<script>alert("x")</script> & 'quoted'`;
const EVIL_ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;';

const ROLE = { value: 'PATIENT', label: 'Patient' };
const THREE_ROLES = [
  { value: 'PATIENT', label: 'Patient' },
  { value: 'CLINICIAN', label: 'Clinician' },
  { value: 'TEAMCOORD', label: 'Team coordinator' },
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
    expect(doc).toContain(`<p>${EVIL_ESCAPED}</p>`);
    expectNoActiveContent(doc);
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
    const doc = consentPage({ ...base, roles: [{ value: 'ADMIN', label: 'Administrator' }] });
    expect(doc).toContain('act for you as an Administrator.');
  });

  it('with three roles: a fieldset of radios, labelled and bound, first checked and required', () => {
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
    expect(tagWith(doc, 'id="scope-PATIENT"')).toMatch(/\bchecked\b/);
    expect(tagWith(doc, 'id="scope-PATIENT"')).toMatch(/\brequired\b/);
    expect(tagWith(doc, 'id="scope-CLINICIAN"')).not.toMatch(/\bchecked\b/);
    expect(tagWith(doc, 'id="scope-TEAMCOORD"')).not.toMatch(/\bchecked\b/);
    expect(countOf(doc, ' checked')).toBe(1);

    // radios sit inside the consent form, so the chosen role is submitted with Allow
    const consentForm = doc.slice(doc.indexOf('action="/consent"'), doc.indexOf('</form>'));
    expect(countOf(consentForm, 'type="radio"')).toBe(3);
  });

  it('escapes every interpolated field', () => {
    const doc = consentPage({
      requestId: EVIL,
      csrf: EVIL,
      clientName: EVIL,
      personName: EVIL,
      username: EVIL,
      roles: [
        { value: EVIL, label: EVIL },
        { value: 'CLINICIAN', label: 'Clinician' },
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

    const single = consentPage({ ...base, clientName: EVIL, roles: [{ value: EVIL, label: EVIL }] });
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
  it('shows title, message, code and advice, with no links', () => {
    const doc = errorPage({
      status: 400,
      title: 'Unknown application',
      message: 'The app that sent you here is not registered.',
      code: 'invalid_request',
    });
    expectDocument(doc);
    expect(doc).toContain('<title>Unknown application · Tessera</title>');
    expect(doc).toContain('<h1 id="heading">Unknown application</h1>');
    expect(doc).toContain('The app that sent you here is not registered.');
    expect(doc).toContain('<code>invalid_request</code>');
    expect(doc).toContain('400');
    expect(doc).toMatch(/go back to that app and tell its developer/);
    expect(doc).not.toContain('<a ');
    expect(doc).not.toContain('<form');
    expect(doc).not.toContain('http-equiv');
    expectNoActiveContent(doc);
  });

  it('omits the code element when no code is given', () => {
    const doc = errorPage({ status: 400, title: 'Bad request', message: 'Nope.' });
    expect(doc).not.toContain('<code>');
    expect(doc).toContain('Nope.');
  });

  it('escapes every interpolated field', () => {
    const doc = errorPage({ status: 400, title: EVIL, message: EVIL, code: EVIL });
    expect(doc).not.toContain('<script>');
    expect(doc).not.toContain(`"x"`);
    expect(doc).toContain(`<title>${EVIL_ESCAPED} · Tessera</title>`);
    expect(doc).toContain(`<h1 id="heading">${EVIL_ESCAPED}</h1>`);
    expect(doc).toContain(`<p>${EVIL_ESCAPED}</p>`);
    expect(doc).toContain(`<code>${EVIL_ESCAPED}</code>`);
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
      errorPage({ status: 400, title: 't', message: 'm', code: 'c' }),
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
