/**
 * The demo's client and people: seeded by `serve --demo` (src/cli/demo-seed.ts) and shown
 * by the demo page. Only these people are ever listed there, never real accounts.
 */
export const DEMO_CLIENT_ID = 'tessera-demo';
export const DEMO_PASSWORD = 'tessera-demo';

export const DEMO_PEOPLE = [
  { username: 'alice', name: 'Alice Patel', roles: ['PATIENT'] },
  { username: 'bob', name: 'Dr Bob Chen', roles: ['CLINICIAN'] },
  { username: 'carol', name: 'Carol Diaz', roles: ['TEAMCOORD'] },
  { username: 'dana', name: 'Dr Dana Reyes', roles: ['CLINICIAN', 'PATIENT'] },
] as const;

export function demoRedirectUri(issuer: string): string {
  return `${issuer}/demo/callback`;
}
