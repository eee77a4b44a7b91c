/**
 * A migrated, empty SQLite database for CLI tests. Management commands refuse a database
 * that does not exist yet (only `serve`, `migrate` and `import` make one), so a test that
 * starts with `client add` on a fresh path needs one first: a copy of a file migrated
 * once per test file by the built `tessera migrate` (a copy costs far less than a run).
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { runCli } from './server-process.js';

let dir: string | undefined;
let template: string | undefined;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Makes `file` a migrated, empty Tessera database; returns its `sqlite:` URL. */
export function migratedDb(file: string): string {
  if (template === undefined) {
    dir = mkdtempSync(join(tmpdir(), 'tessera-template-'));
    const path = join(dir, 'template.db');
    const r = runCli(['migrate'], { db: `sqlite:${path}` });
    if (r.status !== 0) throw new Error(`tessera migrate exited with ${r.status}: ${r.stderr}`);
    template = path;
  }
  copyFileSync(template, file);
  return `sqlite:${file}`;
}
