#!/usr/bin/env node
// Paired A/B of two builds of Tessera: is a change faster or slower, beyond this
// machine's noise? Both `tessera serve` processes run at the same time, pinned to the
// same server core, each driven by its own wrk on the load core, so whatever else the
// machine is doing slows both alike. Each round reports the server CPU per request of
// each build (CPU seconds of the process ÷ requests answered) and their ratio; the
// median ratio over the rounds is the answer. A sequential A-then-B comparison on a
// shared VM swings by ±20 %; paired rounds agree within a few percent.
//
//   node bench/ab.mjs --b DIR [--a DIR] [--flows code,refresh,bearer] [--rounds 5] [--seconds 6] [--db sqlite|postgres] [--format opaque|jwt] [--profile] [--alone]
//
// --format jwt makes both builds' bench client take RFC 9068 JWT access tokens (ES256).
//
// --alone runs the two builds in turns instead of at once (each round, one then the
// other, the order alternating): no sharing of the core's caches, at the price of more
// noise between rounds — a check that a difference is not an artefact of the pairing.
//
// --profile runs both with `node --cpu-prof` and prints where their CPU per request
// differs: self time per request by module and by function, A beside B.
//
// DIR is another checkout (e.g. `git worktree add /tmp/base <commit>`) with its `dist/`
// built; --a defaults to this checkout. Each build is started and seeded by its own
// bench/lib (its own seeder and migrations); the load is this checkout's wrk script.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { selfTimes } from './lib/cpuprofile.mjs';
import { stopAll } from './lib/proc.mjs';
import { ROOT } from './lib/targets.mjs';
import { option, singleServerShared } from './lib/script.mjs';
import { runWrk } from './lib/wrk.mjs';

const flows = option('flows', 'code,refresh,bearer').split(',');
const rounds = Number(option('rounds', '5'));
const seconds = Number(option('seconds', '6'));
const engine = option('db', 'sqlite');
const accessTokenFormat = option('format', 'opaque');
const profile = process.argv.includes('--profile');
const alone = process.argv.includes('--alone');
const trees = { A: resolve(option('a', ROOT)), B: option('b') && resolve(option('b')) };
const shared = singleServerShared;
const log = (...a) => process.stderr.write(`[ab] ${a.join(' ')}\n`);

const median = (values) => {
  const s = [...values].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A target of build `side`, made by that build's own bench/lib (its ROOT is its checkout). */
async function targetOf(side, profDir) {
  const lib = await import(pathToFileURL(join(trees[side], 'bench', 'lib', 'targets.mjs')).href);
  const database =
    engine === 'postgres'
      ? lib.postgresDatabase(process.env.TESSERA_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/', pg)
      : lib.sqliteDatabase();
  const nodeArgs = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const target = lib.tesseraTarget({
    id: `tessera-${side}`,
    label: side,
    database,
    logLevel: 'info',
    nodeArgs,
    accessTokenFormat,
  });
  target.markers = { code: ['"access_token":"'], refresh: ['"access_token":"'], bearer: ['"sub":"'] };
  return { target, lib };
}

/** One paired run: both builds under load at once; each one's requests and CPU seconds. */
async function pairedRun(sides, flow, secs, dir, rate, round) {
  for (const [side, { target }] of sides) {
    const n = flow === 'bearer' ? 1000 : Math.ceil((rate[side] ?? 1500) * secs * 1.5) + 1000;
    await target.issue(flow, n, join(dir, `pool-${side}-${flow}.txt`));
  }
  const load = ([side, { target }]) =>
    runWrk({ target, flow, seconds: secs, file: join(dir, `pool-${side}-${flow}.txt`), shared, connections: 32 });
  let runs;
  if (alone) {
    // One after the other, in turns: A first in odd rounds, B first in even ones.
    const order = round % 2 ? sides : [...sides].reverse();
    const done = new Map();
    for (const entry of order) done.set(entry, await load(entry));
    runs = sides.map((entry) => done.get(entry));
  } else {
    runs = await Promise.all(sides.map(load));
  }
  return Object.fromEntries(sides.map(([side], i) => [side, runs[i]]));
}

/** Self time per request of A and B by module and by function, largest differences first. */
function printProfiles(flow, profDir, served) {
  const perRequest = {};
  for (const side of ['A', 'B']) {
    const file = readdirSync(profDir(side)).find((f) => f.endsWith('.cpuprofile'));
    const times = selfTimes(JSON.parse(readFileSync(join(profDir(side), file), 'utf8')));
    const scale = (map) => new Map([...map].map(([k, us]) => [k, us / served[side]]));
    perRequest[side] = {
      busy: times.busy / served[side],
      groups: scale(times.groups),
      functions: scale(times.functions),
    };
  }
  const table = (title, what, top) => {
    const keys = new Set([...perRequest.A[what].keys(), ...perRequest.B[what].keys()]);
    const rows = [...keys]
      .map((k) => [k, perRequest.A[what].get(k) ?? 0, perRequest.B[what].get(k) ?? 0])
      .sort((x, y) => Math.abs(y[2] - y[1]) - Math.abs(x[2] - x[1]))
      .slice(0, top);
    process.stdout.write(`\n${flow}: ${title} (self µs per request; whole process life, start-up included)\n`);
    for (const [k, a, b] of rows)
      process.stdout.write(
        `  A ${a.toFixed(1).padStart(7)}  B ${b.toFixed(1).padStart(7)}  B−A ${(b - a).toFixed(1).padStart(7)}  ${k.replace('\t', '  ')}\n`,
      );
  };
  process.stdout.write(
    `\n${flow}: busy µs per request A ${perRequest.A.busy.toFixed(0)}, B ${perRequest.B.busy.toFixed(0)}\n`,
  );
  table('by module or package', 'groups', 20);
  table('by function', 'functions', 30);
}

async function main() {
  if (!trees.B) throw new Error('--b DIR is required: the checkout to compare with');
  const dir = mkdtempSync(join(os.tmpdir(), 'tessera-ab-'));
  const ctx = { dir, shared };
  log(`A = ${trees.A}`);
  log(`B = ${trees.B}`);
  const summary = [];
  try {
    for (const flow of flows) {
      const profDir = (side) => (profile ? join(dir, `prof-${flow}-${side}`) : undefined);
      const sides = [
        ['A', await targetOf('A', profDir('A'))],
        ['B', await targetOf('B', profDir('B'))],
      ];
      const served = { A: 0, B: 0 };
      // Each build its own work directory: their databases must not be one file.
      for (const [side, { target }] of sides) await target.start({ ...ctx, dir: mkdtempSync(join(dir, `${side}-`)) });
      // Two paired runs unmeasured: until the JIT and the page cache are warm, CPU per request falls run by run.
      const rate = {};
      for (let w = 0; w < 2; w++) {
        const warm = await pairedRun(sides, flow, seconds, dir, rate, w);
        for (const side of ['A', 'B']) {
          rate[side] = Math.max(warm[side].rps, 100);
          served[side] += warm[side].requests;
        }
      }
      const ratios = [];
      for (let r = 1; r <= rounds; r++) {
        const run = await pairedRun(sides, flow, seconds, dir, rate, r);
        const us = {};
        for (const side of ['A', 'B']) {
          const x = run[side];
          if (x.errors > 0 || x.exhausted > 0)
            throw new Error(`${flow} ${side}: ${x.errors} errors, ${x.exhausted} exhausted (${x.sample})`);
          us[side] = (x.serverCpuSeconds / x.requests) * 1e6;
          rate[side] = Math.max(x.rps, 100);
          served[side] += x.requests;
        }
        ratios.push(us.B / us.A);
        log(
          `${flow} round ${r}: A ${run.A.rps.toFixed(0)} req/s ${us.A.toFixed(0)} µs/req, B ${run.B.rps.toFixed(0)} req/s ${us.B.toFixed(0)} µs/req, B÷A CPU per request ${(us.B / us.A).toFixed(3)}`,
        );
      }
      for (const [, { target }] of sides) await target.stop();
      if (profile) printProfiles(flow, profDir, served);
      summary.push({ flow, median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) });
    }
  } finally {
    // Each checkout's bench/lib keeps its own list of processes and databases.
    for (const side of ['A', 'B']) {
      const lib = (file) => import(pathToFileURL(join(trees[side], 'bench', 'lib', file)).href);
      await (await lib('proc.mjs')).stopAll();
      await (await lib('targets.mjs')).dropDatabases();
    }
    // The profiles stay for a closer look (DevTools, speedscope); the rest goes.
    if (profile) log(`profiles kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    `\nB ÷ A, server CPU per request (below 1: B is cheaper), ${rounds} paired rounds of ${seconds} s:\n`,
  );
  for (const s of summary) {
    process.stdout.write(
      `  ${s.flow.padEnd(8)} median ${s.median.toFixed(3)}  (rounds ${s.min.toFixed(3)}–${s.max.toFixed(3)})\n`,
    );
  }
}

main().catch(async (err) => {
  log(`failed: ${err.stack ?? err}`);
  await stopAll();
  process.exit(1);
});
