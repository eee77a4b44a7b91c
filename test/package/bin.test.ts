/**
 * `npx tessera` runs the package's `bin`, dist/cli/main.js, as a program: npm makes a bin
 * executable only when it links one, which it does not do for the package being worked
 * on, and tsc writes files without the executable bit. The build sets it (package.json).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url);

describe('the tessera bin', () => {
  it('is an executable file with a node shebang, where package.json says', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { bin: { tessera: string } };
    const bin = new URL(pkg.bin.tessera, ROOT);
    expect(() => accessSync(bin, constants.X_OK)).not.toThrow();
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});
