/**
 * The scope model (RFC 6749 §3.3: a set of space-delimited tokens) and the PKB role
 * policy beside it: at most one role, in any letter case, returned in capitals; a
 * refresh may narrow, never widen, and never changes the role.
 */
import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/oauth/errors.js';
import { narrowedScope, requestedRole, roleOf, rolesIn, tokenScope } from '../../src/oauth/role-scope.js';
import { formatScope, isScopeToken, parseScope } from '../../src/oauth/scope.js';

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
    expect(code(() => requestedRole(scope, clientScopes))).toBe(expected);
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
  ])('a refresh asking %j of %j gets %j', (asked, granted, expected) => {
    expect(code(() => narrowedScope(asked, granted))).toBe(expected);
  });
});
