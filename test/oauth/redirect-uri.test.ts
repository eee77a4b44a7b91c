import { describe, it, expect } from 'vitest';
import { OAuthError } from '../../src/oauth/errors.js';
import { checkRegistrableRedirectUri, redirectUriMatches, resolveRedirectUri } from '../../src/oauth/redirect-uri.js';

/** Characters RFC 6749 §5.2 allows in error_description: %x20-21 / %x23-5B / %x5D-7E (no `"`, no `\`). */
const DESCRIPTION_CHARS = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;

function thrown(fn: () => unknown): OAuthError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OAuthError) return err;
    throw err;
  }
  throw new Error('expected an OAuthError to be thrown');
}

const CONTROL_CHARACTERS: ReadonlyArray<[string, string]> = [
  ['space', ' '],
  ['tab', '\t'],
  ['newline', '\n'],
  ['carriage return', '\r'],
  ['NUL', '\0'],
  ['unit separator', '\x1f'],
  ['DEL', '\x7f'],
  ['no-break space', '\u00a0'],
  ['line separator', '\u2028'],
];

// =======================================================================================
// Registration
// =======================================================================================

describe('checkRegistrableRedirectUri accepts', () => {
  const accepted = [
    'https://client.example.com/cb',
    'https://client.example.com',
    'https://client.example.com/',
    'https://client.example.com:8443/cb',
    'https://client.example.com/oauth/callback',
    'https://a.example/cb?tenant=1',
    'https://a.example/cb?tenant=1&lang=en',
    'https://a.example/cb?flag',
    'https://a.example/p%20q',
    'https://a.example/cb;v=1',
    "https://a.example/it's",
    'https://user-info.example/cb@2',
    'https://[2001:db8::1]/cb',
    'https://[2001:db8::1]:8443/cb',
    'https://192.0.2.10/cb',
    'HTTPS://CLIENT.EXAMPLE.COM/CB',
    'https://localhost/cb',
    'https://127.0.0.1:8443/cb',
    'http://127.0.0.1/cb',
    'http://127.0.0.1',
    'http://127.0.0.1:8080/cb',
    'http://localhost:8080/cb',
    'http://localhost/cb',
    'http://LOCALHOST/cb',
    'HTTP://localhost/cb',
    'http://[::1]/cb',
    'http://[::1]:65535/cb',
    'http://127.0.0.1/cb?tenant=1',
    'com.example.app:/callback',
    'com.example.app://callback',
    'com.example.app:///callback',
    'com.example.app:/callback?x=1',
    'com.example-app.v2+beta:/cb',
    'myapp:/cb',
    'urn:ietf:wg:oauth:2.0:oob',
  ];

  it.each(accepted)('%s', (uri) => {
    expect(checkRegistrableRedirectUri(uri)).toBeUndefined();
  });

  it.each(accepted)('%s matches itself exactly', (uri) => {
    expect(redirectUriMatches(uri, uri)).toBe(true);
  });
});

describe('checkRegistrableRedirectUri refuses', () => {
  const refused: ReadonlyArray<[string, RegExp]> = [
    ['', /empty/],
    ['/cb', /absolute/],
    ['//client.example.com/cb', /absolute/],
    ['client.example.com/cb', /absolute/],
    ['cb', /absolute/],
    ['1app:/cb', /absolute/],
    ['localhost:8080/cb', /host:port/],
    ['127.0.0.1:8080', /absolute/],
    ['myapp:', /after the scheme/],
    ['https:', /after the scheme/],
    ['https:/cb', /https:\/\/host/],
    ['https:client.example.com/cb', /https:\/\/host/],
    ['https:///cb', /must name a host/],
    ['http://:8080/cb', /must name a host/],
    ['https://client.example.com/cb#', /fragment/],
    ['https://client.example.com/cb#frag', /fragment/],
    ['https://client.example.com/cb?x=1#frag', /fragment/],
    ['com.example.app:/cb#x', /fragment/],
    ['https://*.example.com/cb', /wildcard/],
    ['https://client.example.com/*', /wildcard/],
    ['https://client.example.com/cb?x=*', /wildcard/],
    ['*', /absolute/],
    ['myapp:/*', /wildcard/],
    ['https://user@client.example.com/cb', /userinfo/],
    ['https://user:pass@client.example.com/cb', /userinfo/],
    ['https://client.example.com@evil.example/cb', /userinfo/],
    ['http://user@localhost/cb', /userinfo/],
    ['com.example.app://user@callback', /userinfo/],
    ['https://client.example.com\\cb', /backslash/],
    ['https://client.example.com\\@evil.example/cb', /backslash/],
    ['https:\\\\client.example.com/cb', /backslash/],
    ['https://client.example.com/c%zz', /hex digits/],
    ['https://client.example.com/c%4', /hex digits/],
    ['https://client.example.com/<script>', /not allowed in a URI/],
    ['https://client.example.com/"x"', /not allowed in a URI/],
    ['https://client.example.com/{x}', /not allowed in a URI/],
    ['https://client.example.com/a|b', /not allowed in a URI/],
    ['https://client.example.com/a^b', /not allowed in a URI/],
    ['https://client.example.com/a`b', /not allowed in a URI/],
    ['https://client.éxample.com/cb', /ASCII/],
    ['https://client.example.com:0/cb', /port/],
    ['https://client.example.com:65536/cb', /port/],
    ['https://client.example.com:/cb', /port/],
    ['https://client.example.com:abc/cb', /port/],
    ['http://127.0.0.1:8080:80/cb', /port/],
    ['https://[evil]/cb', /malformed host/],
    ['https://[::1/cb', /malformed host/],
    ['https://client.example.com/cb?code=abc', /code/],
    ['https://client.example.com/cb?state=abc', /state/],
    ['https://client.example.com/cb?error=x', /error/],
    ['https://client.example.com/cb?x=1&iss=x', /iss/],
    ['https://client.example.com/cb?st%61te=1', /state/],
  ];

  it.each(refused)('%j', (uri, reason) => {
    expect(checkRegistrableRedirectUri(uri)).toMatch(reason);
  });

  const forbiddenSchemes = ['javascript', 'data', 'file', 'vbscript', 'blob'];
  const caseVariants = (s: string): string[] => [s, s.toUpperCase(), s.charAt(0).toUpperCase() + s.slice(1)];
  const bodies = ['//client.example.com/cb', '/etc/passwd', 'alert(1)', 'text/html;base64,PHNjcmlwdD4='];
  const schemeCases = forbiddenSchemes.flatMap((scheme) =>
    caseVariants(scheme).flatMap((variant) => bodies.map((body): [string, string] => [`${variant}:${body}`, scheme])),
  );

  it.each(schemeCases)('%s (forbidden scheme)', (uri, scheme) => {
    expect(checkRegistrableRedirectUri(uri)).toBe(`redirect URI must not use the ${scheme}: scheme`);
  });

  it('names the scheme before complaining about characters', () => {
    expect(checkRegistrableRedirectUri('javascript:alert("x")')).toBe(
      'redirect URI must not use the javascript: scheme',
    );
  });

  const nonLoopbackHttp = [
    'http://client.example.com/cb',
    'http://client.example.com:8080/cb',
    'http://127.0.0.2/cb',
    'http://127.1/cb',
    'http://0.0.0.0/cb',
    'http://[0:0:0:0:0:0:0:1]/cb',
    'http://[::2]/cb',
    'http://localhost.evil.example/cb',
    'http://evil-localhost/cb',
    'http://127.0.0.1.nip.io/cb',
    'http://192.168.1.10/cb',
    'HTTP://client.example.com/cb',
  ];

  it.each(nonLoopbackHttp)('%s (http: off loopback)', (uri) => {
    expect(checkRegistrableRedirectUri(uri)).toMatch(/must use https:/);
  });

  const controlCases = CONTROL_CHARACTERS.flatMap(([name, ch]): Array<[string, string]> => [
    [name, `https://client.example.com/c${ch}b`],
    [name, `${ch}https://client.example.com/cb`],
    [name, `https://client.example.com/cb${ch}`],
    [name, `http://localhost${ch}/cb`],
    [name, `java${ch}script:alert(1)`],
  ]);

  it.each(controlCases)('%s in %j', (_name, uri) => {
    expect(checkRegistrableRedirectUri(uri)).toMatch(/spaces or control characters|ASCII/);
  });

  const everyRefusal = [...refused.map(([u]) => u), ...schemeCases.map(([u]) => u), ...nonLoopbackHttp];
  it.each(everyRefusal)('reason for %j is one line of printable ASCII', (uri) => {
    expect(checkRegistrableRedirectUri(uri)).toMatch(/^[\x20-\x7e]+$/);
  });
});

// =======================================================================================
// Matching: generated non-normalising mutations of registered URIs
// =======================================================================================

interface Parts {
  scheme: string;
  authority: string | undefined; // undefined for `scheme:/path` URIs
  path: string;
  query: string | undefined;
}

function parts(uri: string): Parts {
  const [base, query] = uri.includes('?')
    ? [uri.slice(0, uri.indexOf('?')), uri.slice(uri.indexOf('?') + 1)]
    : [uri, undefined];
  const m = /^([^:]+):(?:\/\/([^/]*))?(.*)$/.exec(base);
  if (!m) throw new Error(`test URI does not parse: ${uri}`);
  return { scheme: m[1] ?? '', authority: m[2], path: m[3] ?? '', query };
}

function build(p: Parts): string {
  const authority = p.authority === undefined ? '' : `//${p.authority}`;
  return `${p.scheme}:${authority}${p.path}${p.query === undefined ? '' : `?${p.query}`}`;
}

/** Each mutation yields a URI that a normalising matcher would call equal (or worse); undefined when it does not apply. */
const mutations: Record<string, (p: Parts) => string | undefined> = {
  'upper-case scheme': (p) => build({ ...p, scheme: p.scheme.toUpperCase() }),
  'capitalised scheme': (p) => build({ ...p, scheme: p.scheme.charAt(0).toUpperCase() + p.scheme.slice(1) }),
  'upper-case host': (p) => (p.authority ? build({ ...p, authority: p.authority.toUpperCase() }) : undefined),
  'capitalised host': (p) =>
    p.authority && /^[a-z]/.test(p.authority)
      ? build({ ...p, authority: p.authority.charAt(0).toUpperCase() + p.authority.slice(1) })
      : undefined,
  'upper-case path': (p) => (/[a-z]/.test(p.path) ? build({ ...p, path: p.path.toUpperCase() }) : undefined),
  'explicit :443': (p) =>
    p.authority && !/:\d+$/.test(p.authority) ? build({ ...p, authority: `${p.authority}:443` }) : undefined,
  'explicit :80': (p) =>
    p.authority && !/:\d+$/.test(p.authority) ? build({ ...p, authority: `${p.authority}:80` }) : undefined,
  'port removed': (p) =>
    p.authority && /:\d+$/.test(p.authority) ? build({ ...p, authority: p.authority.replace(/:\d+$/, '') }) : undefined,
  'other port': (p) =>
    p.authority && /:\d+$/.test(p.authority)
      ? build({ ...p, authority: p.authority.replace(/:\d+$/, ':9443') })
      : undefined,
  'trailing slash added': (p) => build({ ...p, path: `${p.path}/` }),
  'trailing slash removed': (p) => (p.path.endsWith('/') ? build({ ...p, path: p.path.slice(0, -1) }) : undefined),
  'double slash': (p) => build({ ...p, path: p.path.replace(/^\/?/, '//') }),
  '/./ segment': (p) => (p.path === '' ? undefined : build({ ...p, path: p.path.replace(/\/(?=[^/]*\/?$)/, '/./') })),
  '/x/../ segment': (p) =>
    p.path === '' ? undefined : build({ ...p, path: p.path.replace(/\/(?=[^/]*\/?$)/, '/x/../') }),
  'trailing /.': (p) => build({ ...p, path: `${p.path}/.` }),
  '%2F for /': (p) =>
    p.path.lastIndexOf('/') > 0 ? build({ ...p, path: p.path.replace(/\/(?=[^/]*$)/, '%2F') }) : undefined,
  'percent-encoded letter': (p) =>
    /[a-z]/.test(p.path)
      ? build({ ...p, path: p.path.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) })
      : undefined,
  'percent-encoded letter, lower hex': (p) =>
    /[a-z]/.test(p.path)
      ? build({ ...p, path: p.path.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`) })
      : undefined,
  'backslash for last slash': (p) =>
    p.path.includes('/') ? build({ ...p, path: p.path.replace(/\/(?=[^/]*$)/, '\\') }) : undefined,
  'backslash after host': (p) =>
    p.authority ? `${build({ ...p, path: '' })}\\${p.path.replace(/^\//, '')}` : undefined,
  'userinfo user@': (p) => (p.authority ? build({ ...p, authority: `user@${p.authority}` }) : undefined),
  'userinfo user:pw@': (p) => (p.authority ? build({ ...p, authority: `user:pw@${p.authority}` }) : undefined),
  'registered host as userinfo': (p) =>
    p.authority ? build({ ...p, authority: `${p.authority}@evil.example` }) : undefined,
  'suffix host': (p) =>
    p.authority ? build({ ...p, authority: p.authority.replace(/(:\d+)?$/, '.evil.example$1') }) : undefined,
  'prefix host': (p) => (p.authority ? build({ ...p, authority: `evil.${p.authority}` }) : undefined),
  'other host': (p) => (p.authority ? build({ ...p, authority: 'evil.example' }) : undefined),
  'http for https': (p) => (p.scheme === 'https' ? build({ ...p, scheme: 'http' }) : undefined),
  'other path': (p) => build({ ...p, path: '/evil' }),
  'path prefix only': (p) => (p.path.length > 1 ? build({ ...p, path: p.path.slice(0, -1) }) : undefined),
  'path extended': (p) => build({ ...p, path: `${p.path}/more` }),
  'path extended without slash': (p) => build({ ...p, path: `${p.path}x` }),
  'empty fragment #': (p) => `${build(p)}#`,
  'fragment #x': (p) => `${build(p)}#x`,
  'fragment before query': (p) => `${build({ ...p, query: undefined })}#x${p.query === undefined ? '' : `?${p.query}`}`,
  'fragment carrying a path': (p) => `${build(p)}#/evil`,
  'trailing space': (p) => `${build(p)} `,
  'leading space': (p) => ` ${build(p)}`,
  'embedded tab': (p) => build({ ...p, path: `${p.path}\t` }),
  'embedded newline': (p) => `${build(p)}\n`,
  'scheme dropped': (p) => build(p).slice(p.scheme.length + 1),
  '// form switched': (p) =>
    p.authority === undefined
      ? build({ ...p, authority: p.path.replace(/^\//, '').split('/')[0] ?? '', path: '' })
      : build({ ...p, authority: undefined, path: `/${p.authority}${p.path}` }),
  'registered query pair dropped': (p) =>
    p.query ? build({ ...p, query: p.query.split('&').slice(1).join('&') || undefined }) : undefined,
  'registered query value changed': (p) =>
    p.query ? build({ ...p, query: p.query.replace(/=[^&]*/, '=changed') }) : undefined,
  'registered query name upper-cased': (p) =>
    p.query ? build({ ...p, query: p.query.replace(/^[^=&]+/, (n) => n.toUpperCase()) }) : undefined,
  'registered query value upper-cased': (p) =>
    p.query
      ? build({ ...p, query: p.query.replace(/=([^&]*)/, (_m, v: string) => `=${v.toUpperCase()}X`) })
      : undefined,
  'registered query percent-encoded': (p) =>
    p.query
      ? build({
          ...p,
          query: p.query.replace(/=([a-z0-9])/, (_m, c: string) => `=%${c.charCodeAt(0).toString(16).toUpperCase()}`),
        })
      : undefined,
  'registered query value overridden': (p) =>
    p.query ? build({ ...p, query: `${p.query}&${p.query.replace(/=.*$/, '=other')}` }) : undefined,
  'registered query moved into path': (p) =>
    p.query ? build({ ...p, path: `${p.path}${p.query}`, query: undefined }) : undefined,
  'query dropped': (p) => (p.query ? build({ ...p, query: undefined }) : undefined),
  'code added': (p) => build({ ...p, query: p.query ? `${p.query}&code=attacker` : 'code=attacker' }),
  'state added': (p) => build({ ...p, query: p.query ? `${p.query}&state=x` : 'state=x' }),
};

const mutationTargets = [
  'https://client.example.com/cb',
  'https://client.example.com/oauth/callback',
  'https://client.example.com/oauth/callback/',
  'https://client.example.com:8443/cb',
  'https://a.example/cb?tenant=1',
  'https://a.example/cb?tenant=1&lang=en',
  'https://[2001:db8::1]/cb',
  'com.example.app:/callback',
  'com.example.app://callback',
  'com.example.app://callback/oauth',
];

const mutated = mutationTargets.flatMap((registered) =>
  Object.entries(mutations).flatMap(([name, mutate]): Array<[string, string, string]> => {
    const given = mutate(parts(registered));
    return given === undefined ? [] : [[name, registered, given]];
  }),
);

describe('redirectUriMatches refuses every non-identical variant', () => {
  it('generates hundreds of variants', () => {
    expect(mutated.length).toBeGreaterThan(300);
  });

  it.each(mutated)('%s: %j does not match %j', (_name, registered, given) => {
    expect(given).not.toBe(registered);
    expect(redirectUriMatches(given, registered)).toBe(false);
  });
});

describe('redirectUriMatches identity of the generated targets', () => {
  it.each(mutationTargets)('%s', (registered) => {
    expect(build(parts(registered))).toBe(registered);
    expect(redirectUriMatches(registered, registered)).toBe(true);
  });
});

// =======================================================================================
// Matching: explicit tables
// =======================================================================================

describe('redirectUriMatches, explicit cases', () => {
  const cases: ReadonlyArray<[string, string, string, boolean]> = [
    // [description, given, registered, expected]
    ['exact https', 'https://client.example.com/cb', 'https://client.example.com/cb', true],
    ['exact with path', 'https://a.example/x/y/z', 'https://a.example/x/y/z', true],
    ['%41 is not A', 'https://a.example/%41', 'https://a.example/A', false],
    ['A is not %41', 'https://a.example/A', 'https://a.example/%41', false],
    ['%2F is not /', 'https://a.example/a%2Fb', 'https://a.example/a/b', false],
    ['%2f is not %2F', 'https://a.example/a%2fb', 'https://a.example/a%2Fb', false],
    ['encoded registered, exact', 'https://a.example/a%2Fb', 'https://a.example/a%2Fb', true],
    ['explicit :443', 'https://a.example:443/cb', 'https://a.example/cb', false],
    ['implicit 443 for registered :443', 'https://a.example/cb', 'https://a.example:443/cb', false],
    ['explicit :80 on loopback is a port change', 'http://localhost:80/cb', 'http://localhost/cb', true],
    ['/./', 'https://a.example/./cb', 'https://a.example/cb', false],
    ['/../', 'https://a.example/x/../cb', 'https://a.example/cb', false],
    ['escape upward', 'https://a.example/cb/../evil', 'https://a.example/cb', false],
    ['backslash', 'https://a.example\\cb', 'https://a.example/cb', false],
    ['backslash-@ host confusion', 'https://a.example\\@evil.example/cb', 'https://a.example/cb', false],
    ['userinfo', 'https://user@a.example/cb', 'https://a.example/cb', false],
    ['registered host as userinfo', 'https://a.example@evil.example/cb', 'https://a.example/cb', false],
    ['fragment #', 'https://a.example/cb#', 'https://a.example/cb', false],
    ['fragment #x', 'https://a.example/cb#x', 'https://a.example/cb', false],
    ['fragment after query', 'https://a.example/cb?x=1#x', 'https://a.example/cb', false],
    ['fragment in added query value', 'https://a.example/cb?x=#', 'https://a.example/cb', false],
    ['no scheme', '//a.example/cb', 'https://a.example/cb', false],
    ['relative path', '/cb', 'https://a.example/cb', false],
    ['empty', '', 'https://a.example/cb', false],
    ['percent not followed by hex', 'https://a.example/cb?x=%zz', 'https://a.example/cb', false],
    ['non-URI character in added query', 'https://a.example/cb?x=<b>', 'https://a.example/cb', false],
    ['non-ASCII in added query', 'https://a.example/cb?x=é', 'https://a.example/cb', false],
    // Query rules.
    ['extra query on a query-less URI', 'https://a.example/cb?foo=bar', 'https://a.example/cb', true],
    ['two extra pairs', 'https://a.example/cb?foo=bar&baz=1', 'https://a.example/cb', true],
    ['bare ?', 'https://a.example/cb?', 'https://a.example/cb', true],
    ['extra flag without value', 'https://a.example/cb?debug', 'https://a.example/cb', true],
    ['registered pair present', 'https://a.example/cb?tenant=1', 'https://a.example/cb?tenant=1', true],
    ['extra pair after', 'https://a.example/cb?tenant=1&x=2', 'https://a.example/cb?tenant=1', true],
    ['extra pair before', 'https://a.example/cb?x=2&tenant=1', 'https://a.example/cb?tenant=1', true],
    [
      'registered pair repeated unchanged',
      'https://a.example/cb?tenant=1&tenant=1',
      'https://a.example/cb?tenant=1',
      true,
    ],
    ['empty segments', 'https://a.example/cb?&tenant=1&&x=2&', 'https://a.example/cb?tenant=1', true],
    ['registered pair missing', 'https://a.example/cb?x=2', 'https://a.example/cb?tenant=1', false],
    ['no query at all', 'https://a.example/cb', 'https://a.example/cb?tenant=1', false],
    ['value changed', 'https://a.example/cb?tenant=2', 'https://a.example/cb?tenant=1', false],
    ['value padded', 'https://a.example/cb?tenant=01', 'https://a.example/cb?tenant=1', false],
    ['value extended', 'https://a.example/cb?tenant=12', 'https://a.example/cb?tenant=1', false],
    ['value emptied', 'https://a.example/cb?tenant=', 'https://a.example/cb?tenant=1', false],
    ['name case changed', 'https://a.example/cb?Tenant=1', 'https://a.example/cb?tenant=1', false],
    ['value case changed', 'https://a.example/cb?lang=EN', 'https://a.example/cb?lang=en', false],
    ['value percent-encoded', 'https://a.example/cb?tenant=%31', 'https://a.example/cb?tenant=1', false],
    [
      'second value for a registered name',
      'https://a.example/cb?tenant=1&tenant=2',
      'https://a.example/cb?tenant=1',
      false,
    ],
    [
      'earlier value for a registered name',
      'https://a.example/cb?tenant=2&tenant=1',
      'https://a.example/cb?tenant=1',
      false,
    ],
    [
      'encoded registered name with new value',
      'https://a.example/cb?tenant=1&t%65nant=2',
      'https://a.example/cb?tenant=1',
      false,
    ],
    ['registered flag given a value', 'https://a.example/cb?debug&debug=1', 'https://a.example/cb?debug', false],
    [
      'both pairs, registered order',
      'https://a.example/cb?tenant=1&lang=en',
      'https://a.example/cb?tenant=1&lang=en',
      true,
    ],
    [
      'both pairs, reversed order',
      'https://a.example/cb?lang=en&tenant=1',
      'https://a.example/cb?tenant=1&lang=en',
      true,
    ],
    [
      'both pairs, extra in between',
      'https://a.example/cb?lang=en&x=1&tenant=1',
      'https://a.example/cb?tenant=1&lang=en',
      true,
    ],
    ['one of two pairs missing', 'https://a.example/cb?tenant=1', 'https://a.example/cb?tenant=1&lang=en', false],
    ['other of two pairs missing', 'https://a.example/cb?lang=en', 'https://a.example/cb?tenant=1&lang=en', false],
    [
      'one of two pairs changed',
      'https://a.example/cb?lang=fr&tenant=1',
      'https://a.example/cb?tenant=1&lang=en',
      false,
    ],
    [
      'pairs merged into one',
      'https://a.example/cb?tenant=1%26lang%3Den',
      'https://a.example/cb?tenant=1&lang=en',
      false,
    ],
    ['added code pre-empts the response', 'https://a.example/cb?code=x', 'https://a.example/cb', false],
    ['added state pre-empts the response', 'https://a.example/cb?state=x', 'https://a.example/cb', false],
    ['added error', 'https://a.example/cb?error=access_denied', 'https://a.example/cb', false],
    ['added error_description', 'https://a.example/cb?error_description=x', 'https://a.example/cb', false],
    ['added error_uri', 'https://a.example/cb?error_uri=x', 'https://a.example/cb', false],
    ['added iss', 'https://a.example/cb?iss=x', 'https://a.example/cb', false],
    ['added encoded code', 'https://a.example/cb?c%6Fde=x', 'https://a.example/cb', false],
    [
      'added names that only resemble response names',
      'https://a.example/cb?CODE=x&states=1',
      'https://a.example/cb',
      true,
    ],
    ['query is not part of the path', 'https://a.example/cb?x=1', 'https://a.example/cb/?x=1', false],
    // Custom schemes (RFC 8252 §7.1).
    ['custom scheme exact', 'com.example.app:/callback', 'com.example.app:/callback', true],
    ['custom scheme // exact', 'com.example.app://callback', 'com.example.app://callback', true],
    ['custom scheme with added query', 'com.example.app:/callback?x=1', 'com.example.app:/callback', true],
    ['custom scheme :/ vs ://', 'com.example.app://callback', 'com.example.app:/callback', false],
    ['custom scheme :// vs :/', 'com.example.app:/callback', 'com.example.app://callback', false],
    ['custom scheme ::/// vs ://', 'com.example.app:///callback', 'com.example.app://callback', false],
    ['custom scheme case', 'COM.EXAMPLE.APP:/callback', 'com.example.app:/callback', false],
    ['other app scheme', 'com.example.evil:/callback', 'com.example.app:/callback', false],
    ['scheme prefix', 'com.example.app.evil:/callback', 'com.example.app:/callback', false],
    ['custom scheme fragment', 'com.example.app:/callback#x', 'com.example.app:/callback', false],
    ['custom scheme trailing slash', 'com.example.app:/callback/', 'com.example.app:/callback', false],
    ['https for a custom scheme', 'https://callback', 'com.example.app://callback', false],
    // Registered values that registration would refuse never match, even exactly.
    ['registered http off loopback', 'http://client.example.com/cb', 'http://client.example.com/cb', false],
    ['registered wildcard', 'https://*.example.com/cb', 'https://*.example.com/cb', false],
    ['registered wildcard vs concrete host', 'https://evil.example.com/cb', 'https://*.example.com/cb', false],
    ['registered javascript:', 'javascript:alert(1)', 'javascript:alert(1)', false],
    ['registered userinfo', 'https://u@a.example/cb', 'https://u@a.example/cb', false],
    ['registered fragment', 'https://a.example/cb', 'https://a.example/cb#x', false],
    ['registered empty', '', '', false],
  ];

  it.each(cases)('%s', (_name, given, registered, expected) => {
    expect(redirectUriMatches(given, registered)).toBe(expected);
  });
});

describe('redirectUriMatches with control characters in the given URI', () => {
  const registered = ['https://a.example/cb', 'http://127.0.0.1/cb', 'com.example.app:/callback'];
  const cases = registered.flatMap((uri) =>
    CONTROL_CHARACTERS.flatMap(([name, ch]): Array<[string, string, string]> => [
      [name, `${uri}${ch}`, uri],
      [name, `${ch}${uri}`, uri],
      [name, `${uri}?x=${ch}`, uri],
    ]),
  );

  it.each(cases)('%s: %j', (_name, given, uri) => {
    expect(redirectUriMatches(given, uri)).toBe(false);
  });
});

// =======================================================================================
// Matching: loopback (RFC 8252 §7.3)
// =======================================================================================

describe('redirectUriMatches on loopback', () => {
  const hosts = ['127.0.0.1', '[::1]', 'localhost'];
  const registeredPorts = ['', ':8080'];
  const paths = ['/cb', '', '/oauth/callback'];
  const givenPorts = ['', ':1', ':80', ':8080', ':49152', ':65535'];

  const anyPort = hosts.flatMap((host) =>
    registeredPorts.flatMap((rPort) =>
      paths.flatMap((path) =>
        givenPorts.map((gPort): [string, string] => [`http://${host}${gPort}${path}`, `http://${host}${rPort}${path}`]),
      ),
    ),
  );

  it.each(anyPort)('%s matches %s (any port)', (given, registered) => {
    expect(redirectUriMatches(given, registered)).toBe(true);
  });

  const otherHosts = ['127.0.0.2', '0.0.0.0', '[0:0:0:0:0:0:0:1]', 'localhost.evil.example', 'evil.example'];
  const hostChanges = hosts.flatMap((host) =>
    [
      ...hosts.filter((h) => h !== host),
      ...otherHosts,
      host.toUpperCase() === host ? 'LocalHost' : host.toUpperCase(),
    ].flatMap((other) =>
      ['', ':8080'].map((port): [string, string] => [`http://${other}${port}/cb`, `http://${host}/cb`]),
    ),
  );

  it.each(hostChanges)('%s does not match %s (host differs)', (given, registered) => {
    expect(redirectUriMatches(given, registered)).toBe(false);
  });

  const pathChanges = hosts.flatMap((host) =>
    ['/cb/', '/CB', '/cb2', '/', '', '/./cb', '/x/../cb', '/%63b', '\\cb', '/cb#', '/cb#x', '/evil'].map(
      (path): [string, string] => [`http://${host}:5000${path}`, `http://${host}/cb`],
    ),
  );

  it.each(pathChanges)('%s does not match %s (only the port may differ)', (given, registered) => {
    expect(redirectUriMatches(given, registered)).toBe(false);
  });

  const badPorts = hosts.flatMap((host) =>
    [':0', ':65536', ':99999', ':', ':abc', ':-1', ':8080:80', ':80a', ': 80'].map((port): [string, string] => [
      `http://${host}${port}/cb`,
      `http://${host}/cb`,
    ]),
  );

  it.each(badPorts)('%j does not match %s (not a port)', (given, registered) => {
    expect(redirectUriMatches(given, registered)).toBe(false);
  });

  const otherChanges: ReadonlyArray<[string, string, string, boolean]> = [
    ['userinfo on loopback', 'http://user@127.0.0.1:8080/cb', 'http://127.0.0.1/cb', false],
    ['host as userinfo', 'http://127.0.0.1@evil.example/cb', 'http://127.0.0.1/cb', false],
    ['https given for http loopback', 'https://127.0.0.1/cb', 'http://127.0.0.1/cb', false],
    ['upper-case scheme', 'HTTP://127.0.0.1:8080/cb', 'http://127.0.0.1/cb', false],
    ['upper-case host', 'http://LOCALHOST:8080/cb', 'http://localhost/cb', false],
    ['registered upper-case host, port change', 'http://LOCALHOST:8080/cb', 'http://LOCALHOST/cb', true],
    ['registered upper-case scheme, port change', 'HTTP://localhost:8080/cb', 'HTTP://localhost/cb', true],
    ['https loopback exact', 'https://localhost/cb', 'https://localhost/cb', true],
    ['https loopback exact with port', 'https://127.0.0.1:8443/cb', 'https://127.0.0.1:8443/cb', true],
    ['https loopback port change', 'https://localhost:8443/cb', 'https://localhost/cb', false],
    ['https loopback port removed', 'https://127.0.0.1/cb', 'https://127.0.0.1:8443/cb', false],
    ['loopback with registered query and extras', 'http://127.0.0.1:5555/cb?x=1&y=2', 'http://127.0.0.1/cb?x=1', true],
    ['loopback with registered query missing', 'http://127.0.0.1:5555/cb?y=2', 'http://127.0.0.1/cb?x=1', false],
    ['loopback with state added', 'http://127.0.0.1:5555/cb?state=x', 'http://127.0.0.1/cb', false],
    ['loopback fragment', 'http://127.0.0.1:5555/cb#x', 'http://127.0.0.1/cb', false],
    [
      'loopback port on a custom scheme is not loopback',
      'com.example.app://localhost:1/cb',
      'com.example.app://localhost/cb',
      false,
    ],
  ];

  it.each(otherChanges)('%s', (_name, given, registered, expected) => {
    expect(redirectUriMatches(given, registered)).toBe(expected);
  });
});

// =======================================================================================
// Resolution
// =======================================================================================

const A = 'https://client.example.com/cb';
const B = 'https://client.example.com/other?tenant=1';
const C = 'com.example.app:/callback';
const L = 'http://127.0.0.1/cb';

describe('resolveRedirectUri returns', () => {
  const cases: ReadonlyArray<[string, string | undefined, readonly string[], string]> = [
    ['the only registered URI when none is given', undefined, [A], A],
    ['the only registered URI when an empty one is given', '', [A], A],
    ['the only registered custom-scheme URI', undefined, [C], C],
    ['the only registered loopback URI', undefined, [L], L],
    ['the given URI when it equals the only one', A, [A], A],
    ['the given URI with added query parameters', `${A}?foo=bar`, [A], `${A}?foo=bar`],
    ['the first of several', A, [A, B, C], A],
    ['the second of several', `${B}`, [A, B, C], B],
    [
      'the second of several, with additions kept',
      'https://client.example.com/other?x=9&tenant=1',
      [A, B, C],
      'https://client.example.com/other?x=9&tenant=1',
    ],
    ['the third of several', C, [A, B, C], C],
    ['the given one when several could match', `${A}?x=1`, [A, `${A}?x=1`], `${A}?x=1`],
    ['the given loopback URI with its own port', 'http://127.0.0.1:49152/cb', [A, L], 'http://127.0.0.1:49152/cb'],
    [
      'the given loopback URI without a port',
      'http://127.0.0.1/cb',
      ['http://127.0.0.1:8080/cb'],
      'http://127.0.0.1/cb',
    ],
  ];

  it.each(cases)('%s', (_name, given, registered, expected) => {
    expect(resolveRedirectUri(given, registered)).toBe(expected);
  });
});

describe('resolveRedirectUri refuses without redirecting', () => {
  const REQUIRED = 'redirect_uri is required because this client has several registered';
  const NONE = 'this client has no registered redirect URI';
  const NOT_REGISTERED = 'redirect_uri is not registered for this client';
  const FRAGMENT = 'redirect_uri must not contain a fragment';
  const MALFORMED = 'redirect_uri is malformed: it must be an absolute URI without spaces or control characters';
  const INVALID_REGISTERED = 'the registered redirect URI of this client is not valid';

  const cases: ReadonlyArray<[string, string | undefined, readonly string[], string]> = [
    ['missing with two registered', undefined, [A, B], REQUIRED],
    ['missing with three registered', undefined, [A, B, C], REQUIRED],
    ['empty with two registered', '', [A, B], REQUIRED],
    ['missing with none registered', undefined, [], NONE],
    ['given with none registered', A, [], NONE],
    ['empty with none registered', '', [], NONE],
    ['not registered', 'https://evil.example/cb', [A], NOT_REGISTERED],
    ['not registered among several', 'https://evil.example/cb', [A, B, C], NOT_REGISTERED],
    ['case changed', 'https://CLIENT.example.com/cb', [A], NOT_REGISTERED],
    ['trailing slash', `${A}/`, [A], NOT_REGISTERED],
    ['explicit :443', 'https://client.example.com:443/cb', [A], NOT_REGISTERED],
    ['userinfo', 'https://user@client.example.com/cb', [A], NOT_REGISTERED],
    ['registered query missing', 'https://client.example.com/other', [A, B], NOT_REGISTERED],
    ['registered query changed', 'https://client.example.com/other?tenant=2', [A, B], NOT_REGISTERED],
    ['code added', `${A}?code=x`, [A], NOT_REGISTERED],
    ['loopback host changed', 'http://localhost:8080/cb', [L], NOT_REGISTERED],
    ['fragment #', `${A}#`, [A], FRAGMENT],
    ['fragment #x', `${A}#x`, [A, B], FRAGMENT],
    ['fragment on a custom scheme', `${C}#x`, [C], FRAGMENT],
    ['no scheme', '//client.example.com/cb', [A], MALFORMED],
    ['relative', '/cb', [A], MALFORMED],
    ['space', `${A} `, [A], MALFORMED],
    ['newline', `${A}\r\nX-Injected: 1`, [A], MALFORMED],
    ['NUL', `${A}\0`, [A], MALFORMED],
    ['backslash', 'https://client.example.com\\cb', [A], MALFORMED],
    ['non-ASCII', 'https://client.example.com/cb?x=ü', [A], MALFORMED],
    ['quote', `${A}?x="`, [A], MALFORMED],
    ['malformed and with a fragment', `${A} #x`, [A], MALFORMED],
    ['only registered URI is invalid', undefined, ['http://client.example.com/cb'], INVALID_REGISTERED],
    [
      'given equals an invalid registered URI',
      'http://client.example.com/cb',
      ['http://client.example.com/cb'],
      NOT_REGISTERED,
    ],
  ];

  it.each(cases)('%s', (_name, given, registered, description) => {
    const err = thrown(() => resolveRedirectUri(given, registered));
    expect(err.code).toBe('invalid_request');
    expect(err.redirectable).toBe(false);
    expect(err.status).toBe(400);
    expect(err.description).toBe(description);
    expect(err.description).toMatch(DESCRIPTION_CHARS);
  });
});
