#!/usr/bin/env node
// CPU profile of Tessera under the bench's load: `tessera serve` runs with
// `node --cpu-prof` (pinned like in the bench), wrk drives one flow for a while, the
// server is stopped so that V8 writes the profile, and the profile is summarised: the
// functions with the most self time, and the time by package / Tessera module.
//
//   node bench/profile.mjs [--flows code,bearer,refresh] [--seconds 15] [--db sqlite|postgres] [--format opaque|jwt] [--keep DIR]
//
// The .cpuprofile files can be opened in Chrome DevTools (Performance tab) or speedscope.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { rssSampler, stopAll } from './lib/proc.mjs';
import { summarise } from './lib/cpuprofile.mjs';
import { postgresDatabase, sqliteDatabase, tesseraTarget, dropDatabases } from './lib/targets.mjs';
import { option, singleServerShared } from './lib/script.mjs';
import { runWrk } from './lib/wrk.mjs';

const flows = option('flows', 'code,bearer').split(',');
const seconds = Number(option('seconds', '15'));
const engine = option('db', 'sqlite');
const keep = option('keep');
const shared = singleServerShared;
const log = (...a) => process.stderr.write(`[profile] ${a.join(' ')}\n`);

async function main() {
  const dir = keep ?? mkdtempSync(join(os.tmpdir(), 'tessera-profile-'));
  mkdirSync(dir, { recursive: true });
  const ctx = { dir, shared };
  const database =
    engine === 'postgres'
      ? postgresDatabase(process.env.TESSERA_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/', pg)
      : sqliteDatabase();
  try {
    for (const flow of flows) {
      const profDir = join(dir, `prof-${flow}`);
      const target = tesseraTarget({
        id: `tessera-${engine}`,
        label: 'Tessera',
        database,
        logLevel: option('tessera-log-level', 'info'),
        nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir],
        accessTokenFormat: option('format', 'opaque'),
      });
      target.markers = { code: ['"access_token":"'], refresh: ['"access_token":"'], bearer: ['"sub":"'] };
      await target.start(ctx);
      const rss = rssSampler(target.pid);
      let rate = 3000;
      for (const [what, secs] of [
        ['warm-up', 3],
        ['profiled', seconds],
      ]) {
        const file = join(dir, `pool-${flow}.txt`);
        await target.issue(flow, flow === 'bearer' ? 1000 : Math.ceil(rate * secs * 2) + 1000, file);
        const run = await runWrk({ target, flow, seconds: secs, file, shared, connections: 32 });
        rate = Math.max(run.rps, 100);
        log(
          `${flow} ${what}: ${run.rps.toFixed(0)} req/s p50 ${run.p50.toFixed(2)} ms p99 ${run.p99.toFixed(2)} ms server CPU ${run.serverCpu?.toFixed(0)}% errors ${run.errors} exhausted ${run.exhausted} rss ${rss.take().toFixed(0)} MB`,
        );
      }
      rss.stop();
      await target.stop();
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error(`no .cpuprofile in ${profDir}`);
      process.stdout.write(`\n### ${flow} (${engine}), profile ${join(profDir, file)}\n\n`);
      process.stdout.write(summarise(JSON.parse(readFileSync(join(profDir, file), 'utf8'))) + '\n');
    }
  } finally {
    await stopAll();
    await dropDatabases();
    if (!keep) log(`profiles kept in ${dir} (remove when done)`);
  }
}

main().catch(async (err) => {
  log(`failed: ${err.stack ?? err}`);
  await stopAll();
  process.exit(1);
});
