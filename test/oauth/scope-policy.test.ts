/**
 * The scope model (RFC 6749 §3.3: a set of space-delimited tokens) and the PKB role
 * policy beside it: at most one role, in any letter case, returned in capitals, plus any
 * other values the client is enabled for, exactly as spelt; a refresh may narrow (drop
 * other values), never widen, and never changes or drops the role.
 */
import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/oauth/errors.js';
import { narrowedScope, requestedScope, roleOf, rolesIn, tokenScope } from '../../src/oauth/role-scope.js';
import { formatScope, isScopeToken, parseScope, scopeHas } from '../../src/oauth/scope.js';

const code = (run: () => unknown): unknown => {
  try {
    return run();
  } catch (err) {
    return (err as OAuthError).code;
  }
};

describe('scope sets', () => {
  it.each([
    [undefined, []],
    ['', []],
    ['   ', []],
    ['a', ['a']],
    ['a b', ['a', 'b']],
    ['b  a', ['b', 'a']],
    ['a b a', ['a', 'b']],
    [' a ', ['a']],
    ['A a', ['A', 'a']],
  ])('parseScope(%j) is %j', (value, expected) => {
    expect(parseScope(value)).toEqual(expected);
  });

  it('scopeHas says what parseScope(…).includes says, for every position and lookalike', () => {
    const scopes = ['', 'openid', ' openid ', 'PATIENT openid', 'openid PATIENT', 'a  openid  b', 'openidx', 'xopenid'];
    const more = ['openid-connect openid', 'xopenid openidx', 'open id', 'OPENID', 'openidopenid', 'p openid', 'openi'];
    for (const scope of [...scopes, ...more]) {
      for (const token of ['openid', 'open', 'id', 'PATIENT', 'a', 'b', 'p']) {
        expect(scopeHas(scope, token), `scopeHas(${JSON.stringify(scope)}, ${token})`).toBe(
          parseScope(scope).includes(token),
        );
      }
    }
    expect(scopeHas('PATIENT openid', 'openid')).toBe(true);
    expect(scopeHas('openidx', 'openid')).toBe(false);
  });

  it('formats a set space-delimited, in order', () => {
    expect(formatScope(['PATIENT', 'read', 'write'])).toBe('PATIENT read write');
    expect(formatScope([])).toBe('');
  });

  it.each([
    ['PATIENT', true],
    ['read:records', true],
    ['a!#[]~', true],
    ['', false],
    ['a b', false],
    ['quote"', false],
    ['back\\slash', false],
    ['é', false],
    ['tab\t', false],
  ])('isScopeToken(%j) is %s', (value, expected) => {
    expect(isScopeToken(value)).toBe(expected);
  });
});

describe('the PKB role policy', () => {
  const ALL = ['PATIENT', 'CLINICIAN', 'TEAMCOORD'];
  const table: Array<[string | undefined, string[], unknown]> = [];
  // Every single role, in three letter cases, against clients enabled for all, for it alone, and for the others.
  for (const role of ALL) {
    for (const spelled of [role, role.toLowerCase(), role[0] + role.slice(1).toLowerCase()]) {
      table.push([spelled, ALL, role]);
      table.push([spelled, [role], role]);
      table.push([spelled, ALL.filter((r) => r !== role), 'invalid_scope']);
      table.push([`${spelled} ${role}`, [role], role]);
    }
  }
  // Two different roles, in either order, are refused whatever the client allows.
  for (const a of ALL) for (const b of ALL) if (a !== b) table.push([`${a} ${b}`, ALL, 'invalid_scope']);
  table.push(
    [undefined, ALL, undefined],
    ['', ALL, undefined],
    ['  ', ['PATIENT'], undefined],
    ['ADMIN', ALL, 'invalid_scope'],
    ['PATIENT ADMIN', ALL, 'invalid_scope'],
    ['openid', ALL, 'invalid_scope'],
    ['PATIENTS', ALL, 'invalid_scope'],
  );

  it.each(table)('scope %j with a client enabled for %j → %j', (scope, clientScopes, expected) => {
    expect(code(() => requestedScope(scope, clientScopes).role)).toBe(expected);
  });

  describe('the grammar of an authorization request (roles with API and OpenID scopes)', () => {
    const API = ['records.read', 'records.write', 'read:records'];
    const EVERYTHING = [...ALL, ...API, 'openid'];
    type Outcome = { role?: string; others: string[] } | 'invalid_scope';
    const grammar: Array<[string | undefined, string[], Outcome]> = [];
    const ok = (role: string | undefined, ...others: string[]): Outcome => (role ? { role, others } : { others });

    // Empty values: no role and nothing else, whatever the client allows.
    for (const empty of [undefined, '', ' ', '   ']) {
      grammar.push([empty, EVERYTHING, ok(undefined)], [empty, [], ok(undefined)], [empty, API, ok(undefined)]);
    }
    // API scopes alone, one or several, in the order sent; the role is left to the person.
    grammar.push(
      ['records.read', EVERYTHING, ok(undefined, 'records.read')],
      ['records.write records.read', EVERYTHING, ok(undefined, 'records.write', 'records.read')],
      ['records.read records.write', EVERYTHING, ok(undefined, 'records.read', 'records.write')],
      ['read:records', EVERYTHING, ok(undefined, 'read:records')],
      ['records.read', ['PATIENT', 'records.read'], ok(undefined, 'records.read')],
      ['records.read', API, ok(undefined, 'records.read')],
    );
    // Every role in three letter cases with API scopes before, after and around it: the
    // role comes out in capitals, the others exactly as sent, in request order.
    for (const role of ALL) {
      for (const spelled of [role, role.toLowerCase(), role[0] + role.slice(1).toLowerCase()]) {
        grammar.push(
          [`${spelled} records.read`, EVERYTHING, ok(role, 'records.read')],
          [`records.read ${spelled}`, EVERYTHING, ok(role, 'records.read')],
          [`records.write ${spelled} records.read`, EVERYTHING, ok(role, 'records.write', 'records.read')],
          [`${spelled} read:records records.write`, [role, ...API], ok(role, 'read:records', 'records.write')],
          [`${spelled} openid records.read`, EVERYTHING, ok(role, 'openid', 'records.read')],
          // The role not enabled for the client, with API scopes that are.
          [`${spelled} records.read`, [...ALL.filter((r) => r !== role), ...API], 'invalid_scope'],
          // The role repeated in another case is still one role.
          [`${spelled} records.read ${role}`, EVERYTHING, ok(role, 'records.read')],
        );
      }
      // A second, different role, wherever it stands among API scopes.
      for (const other of ALL) {
        if (other === role) continue;
        grammar.push(
          [`${role} records.read ${other}`, EVERYTHING, 'invalid_scope'],
          [`records.read ${role.toLowerCase()} ${other.toLowerCase()}`, EVERYTHING, 'invalid_scope'],
        );
      }
    }
    // Duplicates: kept once, at their first place.
    grammar.push(
      ['records.read records.read', EVERYTHING, ok(undefined, 'records.read')],
      ['records.read PATIENT records.read', EVERYTHING, ok('PATIENT', 'records.read')],
      ['records.write records.read records.write', EVERYTHING, ok(undefined, 'records.write', 'records.read')],
      ['  records.read   PATIENT  ', EVERYTHING, ok('PATIENT', 'records.read')],
    );
    // API and OpenID scope names are case-sensitive.
    grammar.push(
      ['Records.read', EVERYTHING, 'invalid_scope'],
      ['RECORDS.READ', EVERYTHING, 'invalid_scope'],
      ['PATIENT records.Read', EVERYTHING, 'invalid_scope'],
      ['OpenID', EVERYTHING, 'invalid_scope'],
      ['PATIENT OPENID', EVERYTHING, 'invalid_scope'],
    );
    // Unknown to the server, or known but not enabled for this client.
    grammar.push(
      ['ADMIN', EVERYTHING, 'invalid_scope'],
      ['records.delete', EVERYTHING, 'invalid_scope'],
      ['PATIENT records.delete', EVERYTHING, 'invalid_scope'],
      ['records.read records.delete', EVERYTHING, 'invalid_scope'],
      ['records.write', ['PATIENT', 'records.read'], 'invalid_scope'],
      ['PATIENT records.write', ['PATIENT', 'records.read'], 'invalid_scope'],
      ['records.read', ALL, 'invalid_scope'],
      ['openid', ALL, 'invalid_scope'],
      ['PATIENT profile', [...ALL, 'openid'], 'invalid_scope'],
      ['offline_access', EVERYTHING, 'invalid_scope'],
      ['records.read', [], 'invalid_scope'],
      ['PATIENT', API, 'invalid_scope'],
      // Not scope tokens at all (RFC 6749 §3.3): never enabled for a client.
      ['records.read\tPATIENT', EVERYTHING, 'invalid_scope'],
      ['"records.read"', EVERYTHING, 'invalid_scope'],
      ['PATIENT é', EVERYTHING, 'invalid_scope'],
    );

    it.each(grammar)('scope %j with a client enabled for %j → %j', (scope, clientScopes, expected) => {
      let outcome: Outcome;
      try {
        outcome = requestedScope(scope, clientScopes);
      } catch (err) {
        outcome = (err as OAuthError).code as 'invalid_scope';
      }
      expect(outcome).toEqual(expected);
    });

    it('says in the error which value the client may not ask for, when it is a plain scope token', () => {
      const descriptionOf = (scope: string, clientScopes: string[]) => {
        try {
          requestedScope(scope, clientScopes);
        } catch (err) {
          return (err as OAuthError).description;
        }
        return 'no error';
      };
      expect(descriptionOf('PATIENT records.write', ['PATIENT', 'records.read'])).toBe(
        'This client may not ask for the scope records.write',
      );
      expect(descriptionOf('PATIENT CLINICIAN', ALL)).toBe('Only one role scope may be requested');
      expect(descriptionOf('teamcoord', ['PATIENT'])).toBe('This client is not enabled for the TEAMCOORD scope');
      // A value that is no scope token, or long, is not echoed.
      expect(descriptionOf('"x"', ALL)).toBe('This client may not ask for the scope');
      expect(descriptionOf('x'.repeat(65), ALL)).toBe('This client may not ask for the scope');
    });

    it('builds the token scope from the request: the role first, then the others in request order', () => {
      const { role, others } = requestedScope('records.write patient records.read', EVERYTHING);
      expect(tokenScope(role ?? 'CLINICIAN', others)).toBe('PATIENT records.write records.read');
      const chosen = requestedScope('records.read', EVERYTHING);
      expect(tokenScope('TEAMCOORD', chosen.others)).toBe('TEAMCOORD records.read');
    });
  });

  it('puts the role first in a token scope and reads it back', () => {
    expect(tokenScope('PATIENT')).toBe('PATIENT');
    expect(tokenScope('CLINICIAN', ['b', 'a', 'CLINICIAN'])).toBe('CLINICIAN b a');
    expect(roleOf('CLINICIAN b a')).toBe('CLINICIAN');
    expect(roleOf('b a')).toBeUndefined();
    expect(roleOf('')).toBeUndefined();
    expect(rolesIn(['TEAMCOORD', 'x', 'PATIENT'])).toEqual(['PATIENT', 'TEAMCOORD']);
  });

  it.each([
    [undefined, 'PATIENT', 'PATIENT'],
    ['PATIENT', 'PATIENT', 'PATIENT'],
    ['patient', 'PATIENT', 'PATIENT'],
    ['PATIENT PATIENT', 'PATIENT', 'PATIENT'],
    ['CLINICIAN', 'PATIENT', 'invalid_scope'],
    ['PATIENT CLINICIAN', 'PATIENT', 'invalid_scope'],
    ['ADMIN', 'PATIENT', 'invalid_scope'],
    ['read', 'PATIENT read write', 'PATIENT read'],
    ['write PATIENT', 'PATIENT read write', 'PATIENT write'],
    ['delete', 'PATIENT read', 'invalid_scope'],
    ['Read', 'PATIENT read', 'invalid_scope'],
    // API scopes: any of them may be dropped, none added; the role stays, named or not, in any case.
    ['', 'PATIENT records.read records.write', 'PATIENT records.read records.write'],
    ['   ', 'PATIENT records.read records.write', 'PATIENT records.read records.write'],
    ['PATIENT', 'PATIENT records.read records.write', 'PATIENT'],
    ['patient', 'PATIENT records.read records.write', 'PATIENT'],
    ['records.read', 'PATIENT records.read records.write', 'PATIENT records.read'],
    ['records.write', 'PATIENT records.read records.write', 'PATIENT records.write'],
    ['records.read records.write', 'PATIENT records.read records.write', 'PATIENT records.read records.write'],
    ['records.write records.read', 'PATIENT records.read records.write', 'PATIENT records.write records.read'],
    ['records.read Patient', 'PATIENT records.read records.write', 'PATIENT records.read'],
    ['records.read records.read', 'PATIENT records.read records.write', 'PATIENT records.read'],
    ['CLINICIAN records.read openid', 'CLINICIAN records.read openid', 'CLINICIAN records.read openid'],
    ['openid', 'CLINICIAN records.read openid', 'CLINICIAN openid'],
    // Adding an API scope, even one the client is enabled for, or changing the role.
    ['records.write', 'PATIENT records.read', 'invalid_scope'],
    ['records.read records.write', 'PATIENT records.read', 'invalid_scope'],
    ['records.read', 'PATIENT', 'invalid_scope'],
    ['Records.read', 'PATIENT records.read', 'invalid_scope'],
    ['CLINICIAN records.read', 'PATIENT records.read', 'invalid_scope'],
    ['TEAMCOORD', 'PATIENT records.read', 'invalid_scope'],
    ['PATIENT CLINICIAN records.read', 'PATIENT records.read', 'invalid_scope'],
    ['openid', 'PATIENT records.read', 'invalid_scope'],
  ])('a refresh asking %j of %j gets %j', (asked, granted, expected) => {
    expect(code(() => narrowedScope(asked, granted))).toBe(expected);
  });
});
