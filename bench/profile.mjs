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
import { postgresDatabase, ROOT, sqliteDatabase, tesseraTarget, dropDatabases } from './lib/targets.mjs';
import { option, singleServerShared } from './lib/script.mjs';
import { runWrk } from './lib/wrk.mjs';

const flows = option('flows', 'code,bearer').split(',');
const seconds = Number(option('seconds', '15'));
const engine = option('db', 'sqlite');
const keep = option('keep');
const shared = singleServerShared;
const log = (...a) => process.stderr.write(`[profile] ${a.join(' ')}\n`);

/** Self time per function and per package from a V8 .cpuprofile. */
export function summarise(profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const interval = new Map();
  // Self time from the samples and their time deltas (more exact than hitCount).
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const dt = profile.timeDeltas[i + 1] ?? 0;
    interval.set(id, (interval.get(id) ?? 0) + dt);
  }
  let busy = 0;
  let idle = 0;
  for (const [id, us] of interval) {
    const node = byId.get(id);
    const f = node.callFrame;
    if (f.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'}\t${where}`;
    self.set(key, (self.get(key) ?? 0) + us);
  }
  const packages = new Map();
  for (const [key, us] of self) {
    const [name, where] = key.split('\t');
    const group = groupOf(name, where);
    packages.set(group, (packages.get(group) ?? 0) + us);
  }
  const pct = (us) => `${((us / busy) * 100).toFixed(1)} %`;
  const lines = [];
  lines.push(`busy ${(busy / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s`);
  lines.push('');
  lines.push('| self time | function | where |');
  lines.push('| ---: | --- | --- |');
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const [name, where] = key.split('\t');
    lines.push(`| ${pct(us)} | \`${name}\` | ${where} |`);
  }
  lines.push('');
  lines.push('| self time | package or module |');
  lines.push('| ---: | --- |');
  for (const [group, us] of [...packages].sort((a, b) => b[1] - a[1]).slice(0, 20))
    lines.push(`| ${pct(us)} | ${group} |`);
  return lines.join('\n');
}

function shortUrl(url) {
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  if (u.startsWith(ROOT)) return u.slice(ROOT.length);
  return u;
}

function groupOf(name, where) {
  if (!where) return name.startsWith('(') ? name : '(native / V8 builtins)';
  if (where.startsWith('node:')) return 'node: internals';
  if (where.startsWith('dist/')) return where.split(':')[0];
  const parts = where.split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

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
