/**
 * The interaction policy's decision table (oauth/interaction.ts interactionPolicy): from
 * the browser's session, the request's prompt, max_age and id_token_hint, the client's
 * skip-consent and the roles on offer, what comes next — sign-in, consent, no page, or an
 * error for the client.
 */
import { describe, expect, it } from 'vitest';
import { interactionPolicy, type PolicyInput, type PolicyStep, type SignedIn } from '../../src/oauth/interaction.js';
import type { Prompt } from '../../src/oauth/openid-request.js';
import type { Role } from '../../src/oauth/role-scope.js';

const REQUEST_AT = 1_000_000_000_000;
const ALICE = 'alice-id';

/** A session of Alice's that started `ageSeconds` before the request arrived (negative: after it). */
function sessionAged(ageSeconds: number): SignedIn {
  return {
    person: {
      id: ALICE,
      username: 'alice',
      displayName: 'Alice',
      passwordHash: 'x',
      email: null,
      roles: ['PATIENT'],
      createdAt: 0,
      disabledAt: null,
    },
    session: {
      hash: 'h',
      personId: ALICE,
      createdAt: REQUEST_AT - ageSeconds * 1000,
      expiresAt: REQUEST_AT + 3_600_000,
      maxExpiresAt: REQUEST_AT + 3_600_000,
    },
  };
}

function policy(
  options: {
    prompt?: Prompt[];
    maxAge?: number;
    session?: number | 'none';
    skipConsent?: boolean;
    roles?: Role[];
    hint?: 'match' | 'other' | 'invalid';
  } = {},
): PolicyStep {
  const input: PolicyInput = {
    request: {
      ...(options.prompt && { prompt: options.prompt }),
      ...(options.maxAge !== undefined && { maxAge: options.maxAge }),
    },
    pendingCreatedAt: REQUEST_AT,
    skipConsent: options.skipConsent ?? false,
    ...(options.session !== 'none' && { who: sessionAged(options.session ?? 60) }),
    roles: options.roles ?? ['PATIENT'],
    ...(options.hint === 'invalid' && { hint: 'invalid' as const }),
    ...(options.hint === 'match' && { hint: { sub: ALICE } }),
    ...(options.hint === 'other' && { hint: { sub: 'bob-id' } }),
  };
  return interactionPolicy(input);
}

/** The step as one word: login, login(role), consent, complete(ROLE), or the error code. */
function outcome(step: PolicyStep): string {
  switch (step.show) {
    case 'login':
      return step.problem ? `login(${step.problem})` : 'login';
    case 'consent':
      return 'consent';
    case 'complete':
      return `complete(${step.role})`;
    case 'refuse':
      return step.error.code;
  }
}

describe('interaction policy', () => {
  it.each<[string, Parameters<typeof policy>[0], string]>([
    // No session: sign in; with prompt=none, login_required.
    ['no session', { session: 'none' }, 'login'],
    ['no session, skip-consent', { session: 'none', skipConsent: true }, 'login'],
    ['no session, prompt=none', { session: 'none', prompt: ['none'] }, 'login_required'],
    ['no session, prompt=consent', { session: 'none', prompt: ['consent'] }, 'login'],
    ['no session, valid hint', { session: 'none', hint: 'match' }, 'login'],
    ['no session, valid hint, prompt=none', { session: 'none', hint: 'match', prompt: ['none'] }, 'login_required'],
    ['no session, invalid hint', { session: 'none', hint: 'invalid' }, 'login_required'],

    // A live session: the sign-in page is skipped, the consent page still shown.
    ['session', {}, 'consent'],
    ['session, prompt=none', { prompt: ['none'] }, 'consent_required'],
    ['session, skip-consent', { skipConsent: true }, 'complete(PATIENT)'],
    ['session, skip-consent, prompt=none', { skipConsent: true, prompt: ['none'] }, 'complete(PATIENT)'],
    ['session, skip-consent, prompt=consent', { skipConsent: true, prompt: ['consent'] }, 'consent'],
    ['session, skip-consent, two roles', { skipConsent: true, roles: ['PATIENT', 'CLINICIAN'] }, 'consent'],
    [
      'session, skip-consent, two roles, prompt=none',
      { skipConsent: true, roles: ['PATIENT', 'CLINICIAN'], prompt: ['none'] },
      'interaction_required',
    ],
    ['session, no eligible role', { roles: [] }, 'login(role)'],
    ['session, no eligible role, prompt=none', { roles: [], prompt: ['none'] }, 'login_required'],
    ['session, no eligible role, skip-consent', { roles: [], skipConsent: true }, 'login(role)'],

    // prompt=login and select_account: a sign-in made before the request does not count…
    ['session, prompt=login', { prompt: ['login'] }, 'login'],
    ['session, prompt=select_account', { prompt: ['select_account'] }, 'login'],
    ['session, prompt=login consent', { prompt: ['login', 'consent'] }, 'login'],
    ['session, prompt=login, skip-consent', { prompt: ['login'], skipConsent: true }, 'login'],
    // …one made for this request does, however long consent then takes.
    ['signed in for this request, prompt=login', { prompt: ['login'], session: -1 }, 'consent'],
    ['signed in at the request, prompt=login', { prompt: ['login'], session: 0 }, 'consent'],
    [
      'signed in for this request, prompt=login, skip-consent',
      { prompt: ['login'], session: -1, skipConsent: true },
      'complete(PATIENT)',
    ],

    // max_age: a sign-in older than max_age seconds before the request needs the password.
    ['max_age=0, older session', { maxAge: 0 }, 'login'],
    ['max_age=0, signed in for this request', { maxAge: 0, session: -1 }, 'consent'],
    ['max_age=1, 2 s old', { maxAge: 1, session: 2 }, 'login'],
    ['max_age=1, 1 s old', { maxAge: 1, session: 1 }, 'consent'],
    ['max_age=10000, 60 s old', { maxAge: 10000 }, 'consent'],
    ['max_age=10000, 60 s old, skip-consent', { maxAge: 10000, skipConsent: true }, 'complete(PATIENT)'],
    ['max_age=10000, 10001 s old', { maxAge: 10000, session: 10001 }, 'login'],
    ['max_age=1, prompt=none, 2 s old', { maxAge: 1, session: 2, prompt: ['none'] }, 'login_required'],
    [
      'max_age=1, prompt=none, 1 s old, skip-consent',
      { maxAge: 1, session: 1, prompt: ['none'], skipConsent: true },
      'complete(PATIENT)',
    ],

    // id_token_hint: must name the signed-in person.
    ['session, hint names them', { hint: 'match' }, 'consent'],
    ['session, hint names them, skip-consent', { hint: 'match', skipConsent: true }, 'complete(PATIENT)'],
    ['session, hint names someone else', { hint: 'other' }, 'login_required'],
    ['session, hint names someone else, skip-consent', { hint: 'other', skipConsent: true }, 'login_required'],
    ['session, invalid hint', { hint: 'invalid' }, 'login_required'],
    ['session, invalid hint, skip-consent', { hint: 'invalid', skipConsent: true }, 'login_required'],
    ['session, hint names them, prompt=none', { hint: 'match', prompt: ['none'] }, 'consent_required'],
    [
      'session, hint names them, prompt=none, skip-consent',
      { hint: 'match', prompt: ['none'], skipConsent: true },
      'complete(PATIENT)',
    ],
    // Signing in again is the way to satisfy a hint for someone else only when the sign-in is still to come.
    ['session, hint names someone else, prompt=login', { hint: 'other', prompt: ['login'] }, 'login'],
    [
      'signed in for this request, hint names someone else',
      { hint: 'other', prompt: ['login'], session: -1 },
      'login_required',
    ],
  ])('%s → %s', (_name, options, expected) => {
    expect(outcome(policy(options))).toBe(expected);
  });

  it('refusals carry a description a client can show, never a page', () => {
    const step = policy({ session: 'none', prompt: ['none'] });
    expect(step.show).toBe('refuse');
    if (step.show === 'refuse') {
      expect(step.error.code).toBe('login_required');
      expect(step.error.redirectable).toBe(true);
      expect(step.error.description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/);
    }
  });
});
