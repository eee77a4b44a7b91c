/**
 * The Node.js promise holds: every package that `npm ci` installs from package-lock.json
 * admits, in its `engines.node`, both the Node.js running the tests and the lowest
 * version package.json's own `engines` promises — so `npm ci` prints no EBADENGINE
 * warning there, and a dependency update that drops a promised Node version fails here
 * rather than on a user's machine. The README says the same version.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lowestVersion, satisfies } from './node-range.js';

const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: Record<string, string> | string[] }>;
};

/** `engines.node` of a lock entry: an object's `node`, or an old-style `["node >= 0.4"]`. */
function nodeRange(engines: Record<string, string> | string[] | undefined): string | undefined {
  if (engines === undefined) return undefined;
  if (Array.isArray(engines)) {
    const entry = engines.find((e) => /^node\b/.test(e));
    return entry?.replace(/^node\s*/, '');
  }
  return engines.node;
}

describe('engines', () => {
  const promised = pkg.engines.node;
  const versions = [lowestVersion(promised), process.versions.node];

  it.each(versions)('every locked package admits Node.js %s', (version) => {
    const refused = Object.entries(lock.packages)
      .map(([path, entry]) => ({ name: path || 'tessera', version: entry.version, range: nodeRange(entry.engines) }))
      .filter((p) => p.range !== undefined && !satisfies(version, p.range))
      .map((p) => `${p.name}@${p.version} wants node ${p.range}`);
    expect(refused, `package.json promises node ${promised}`).toEqual([]);
  });

  it('the README names the same lowest version as package.json', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const lowest = lowestVersion(promised).replace(/\.0$/, '');
    expect(readme).toContain(`Node.js ≥ ${lowest}`);
  });
});

describe('reading engines ranges', () => {
  it.each([
    ['>=20.19', '20.19.0', true],
    ['>=20.19', '20.18.9', false],
    ['>=22', '20.20.2', false],
    ['>= 0.8', '20.0.0', true],
    ['^20.19.0 || >=22.12.0', '22.11.0', false],
    ['^20.19.0 || >=22.12.0', '20.20.2', true],
    ['^20.19.0 || >=22.12.0', '24.1.0', true],
    ['^20.19.0 || ^22.13.0 || >=24', '23.4.0', false],
    ['18 || 20 || >=22', '21.7.0', false],
    ['18 || 20 || >=22', '20.19.0', true],
    ['20.x || 22.x || 23.x || 24.x || 25.x || 26.x', '21.0.0', false],
    ['10.* || >= 12.*', '11.0.0', false],
    ['10.* || >= 12.*', '20.0.0', true],
    ['>= 10.x', '9.9.9', false],
    ['^0.2.3', '0.3.0', false],
    ['^0.2.3', '0.2.9', true],
    ['~1.2', '1.3.0', false],
    ['>1.2', '1.2.9', false],
    ['<=20', '20.99.0', true],
    ['<20.19 || >=22', '20.19.0', false],
    ['14.0.0 - 16', '16.5.0', true],
    ['14.0.0 - 16', '17.0.0', false],
    ['*', '0.0.1', true],
    ['>=14.0.0 <15', '16.0.0', false],
  ])('%s admits %s: %s', (range, version, expected) => {
    expect(satisfies(version, range)).toBe(expected);
  });

  it.each([
    ['>=20.19', '20.19.0'],
    ['^20.19.0 || >=22.12.0', '20.19.0'],
    ['18 || >=16.4 <17', '16.4.0'],
  ])('the lowest version of %s is %s', (range, lowest) => {
    expect(lowestVersion(range)).toBe(lowest);
  });

  it('refuses what it cannot read rather than passing it', () => {
    expect(() => satisfies('20.0.0', '>=20.0.0-beta')).toThrow(/cannot read/);
    expect(() => satisfies('20.0.0', 'latest')).toThrow(/cannot read/);
  });
});
