#!/usr/bin/env node
// Tessera's benchmark against node-oidc-provider, @node-oauth/oauth2-server and a bare
// node:http ceiling, all in one run on this machine. See bench/README.md.
//
//   npm run bench                 full run → bench/RESULTS.md (+ RESULTS.json)
//   npm run bench -- --quick      ~1.5-minute smoke → bench/RESULTS.quick.md (+ .json)
//
// Options: --quick, --no-build (use dist/ as it is), --targets a,b (ids, see below),
// --flows code,refresh,bearer,introspect,full, --no-postgres, --no-scale, --no-startup,
// --no-scale-out, --scale-out-only, --tessera-log-level LEVEL (default info, what
// `tessera serve` does), --out FILE.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  childrenCpuSeconds,
  cpuSeconds,
  pinned,
  pinning,
  rssSampler,
  runToEnd,
  setClockTicks,
  startProcess,
  stopAll,
  stopProcess,
} from './lib/proc.mjs';
import {
  benchEnv,
  dropDatabases,
  peerTargets,
  postgresDatabase,
  ROOT,
  sqliteDatabase,
  TESSERA_MARKERS,
  TESSERA_PATHS,
  tesseraTarget,
} from './lib/targets.mjs';
import { writeReport } from './lib/report.mjs';
import { ensureNginx, nginxVersion, startCluster } from './lib/scale-out.mjs';
import { parseBenchJson, runWrk } from './lib/wrk.mjs';

// ---------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = flag('quick');

const MODES = {
  quick: {
    warmup: 1,
    duration: 1,
    runs: 1,
    // Each server is started once and serves every flow in turn, warmed up before its
    // first one (full mode: started fresh and warmed up for each flow).
    freshPerFlow: false,
    // Sign-in is scrypt (~0.1 s of one core each): with 32 browsers a flow takes seconds,
    // too long for a smoke run, so the quick run's full flow uses 4 browsers (labelled).
    full: { warmup: 0, settle: 0, duration: 2, runs: 1, connections: 4 },
    scale: [1_000, 10_000],
    startups: 2,
  },
  full: {
    warmup: 5,
    duration: 10,
    runs: 3,
    freshPerFlow: true,
    full: { warmup: 5, settle: 5, duration: 15, runs: 3, connections: 32 },
    scale: [1_000, 1_000_000],
    startups: 7,
  },
};
const mode = { ...(quick ? MODES.quick : MODES.full) };
// For development: more (or fewer) measured runs, or longer ones, than the mode's.
if (option('runs')) mode.runs = Number(option('runs'));
if (option('seconds')) mode.duration = Number(option('seconds'));
const CONNECTIONS = 32;
const BEARER_POOL = 1000;
// req/s guess for the first pool; pools then follow measured rates. A quick run guesses
// low: its warm-up may run out (and is not repeated), while a big pool costs the slowest
// issuer (Tessera on PostgreSQL) seconds.
const INITIAL_RATE = quick ? 500 : 3000;
// A quick run's 1 s warm-up is slower than the run after it (the JIT is still warming), so
// its pools get a wider margin: a pool that runs out costs a repeated run.
const POOL_MARGIN = quick ? 3 : 1.6;
// Credentials added to every pool beyond the margin.
const POOL_FLOOR = quick ? 200 : 1000;
const FLOWS = (option('flows') ?? 'code,refresh,bearer,introspect,full').split(',');
const ONLY = option('targets')?.split(',');
const LOG_LEVEL = option('tessera-log-level') ?? 'info';
// The scale-out section alone writes a report of its own, so that it never replaces the
// whole bench's.
const SCALE_OUT_ONLY = flag('scale-out-only');
const OUT =
  option('out') ?? join(ROOT, 'bench', `RESULTS${SCALE_OUT_ONLY ? '.scale-out' : ''}${quick ? '.quick' : ''}.md`);
// The scale-out section: 1…SCALE_OUT_INSTANCES instances behind nginx, in the token and
// bearer flows (those of --flows, when given).
const SCALE_OUT_INSTANCES = 3;
const SCALE_OUT_FLOWS = ['code', 'refresh', 'bearer'].filter((f) => !option('flows') || FLOWS.includes(f));
const FULL_FLOW = join(ROOT, 'bench', 'loadgen', 'full-flow.mjs');

const shared = {
  clientId: 'bench-client',
  clientSecret: randomBytes(32).toString('base64url'),
  redirectUri: 'http://127.0.0.1:9999/cb',
  // 32 browsers over 8 people: at most 4 sign-ins of one person from the one address at a
  // time, within the throttle's free attempts per username and address (5).
  users: Array.from({ length: 8 }, (_, i) => `bench-user-${i}`),
  password: 'bench password 1234',
};

const log = (...a) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${a.join(' ')}\n`);

// ---------------------------------------------------------------------------------
// Preflight: tools, machine, build, PostgreSQL
// ---------------------------------------------------------------------------------
function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const git = (args) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  return {
    cores: os.cpus().length,
    cpuModel: model,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    wrk: execFileSync('sh', ['-c', 'wrk --version 2>&1 | head -1'], { encoding: 'utf8' }).trim().split(' Copyright')[0],
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: git(['status', '--porcelain', '--', 'src']) !== '',
    loadBefore: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

async function ensureWrk() {
  if (which('wrk')) return;
  log('wrk is not installed; installing it from Debian (apt-get install -y wrk)');
  const r = await runToEnd('sh', ['-c', 'apt-get install -y wrk || (apt-get update && apt-get install -y wrk)']);
  if (r.code !== 0 || !which('wrk')) {
    throw new Error(
      `wrk is needed: install it with "apt-get install wrk" (as root). apt said:\n${r.stderr.slice(-2000)}`,
    );
  }
}

async function postgresAdminUrl() {
  if (flag('no-postgres')) return undefined;
  const url = process.env.TESSERA_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return url;
  } catch (err) {
    log(
      `PostgreSQL not reachable at ${url.replace(/:[^:@/]*@/, ':***@')} (${err.message}): Tessera on PostgreSQL is skipped`,
    );
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------
// One wrk run: issue the pool, run wrk pinned to the load core, read the counters
// ---------------------------------------------------------------------------------
function alive(target) {
  return target.proc && target.proc.child.exitCode === null && target.proc.child.signalCode === null;
}

let poolSeq = 0;

async function wrkRun(ctx, cell, flow, seconds, poolSize) {
  const { target } = cell;
  const file = join(ctx.dir, `pool-${target.id}-${flow}-${++poolSeq}.txt`);
  const t0 = performance.now();
  await target.issue(flow, poolSize, file);
  const issueSeconds = (performance.now() - t0) / 1000;
  cell.rss.take();
  try {
    const run = await runWrk({ target, flow, seconds, file, shared, connections: CONNECTIONS });
    return {
      ...run,
      ...withPostgres(run.watched, run.seconds, run.serverCpuSeconds, run.requests),
      rss: cell.rss.take(),
      pool: poolSize,
      issueSeconds,
    };
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * A run whose pool ran out is repeated with a bigger pool (it says nothing about speed).
 * A quick run's warm-up is not: it has warmed the server all the same, and the pool of
 * the run after it is sized from the higher rate.
 */
async function wrkAttempt(ctx, cell, flow, seconds, { warmup = false } = {}) {
  let last;
  const attempts = warmup && quick ? 1 : 4;
  for (let attempt = 0; attempt < attempts; attempt++) {
    // Access tokens are reused round-robin; codes and refresh tokens are used up.
    const reusable = flow === 'bearer' || flow === 'introspect';
    const pool = reusable ? BEARER_POOL : Math.ceil(cell.rate * seconds * POOL_MARGIN) + POOL_FLOOR;
    last = await wrkRun(ctx, cell, flow, seconds, pool);
    if (last.exhausted === 0) {
      cell.rate = Math.max(last.rps, 100);
      return last;
    }
    log(
      `  ${cell.target.id} ${flow}: pool of ${pool} ran out at ${Math.round(last.rps)} req/s` +
        (attempts > 1 ? '; repeating with a bigger one' : ''),
    );
    cell.rate = Math.max(cell.rate * 3, last.rps * 2);
  }
  if (attempts === 1) return last;
  return { ...last, errors: last.errors || 1, sample: `pool exhausted 4 times (${last.sample})` };
}

/**
 * PostgreSQL's share of a run that watched it (Tessera on PostgreSQL): its CPU as % of one
 * core over `span` seconds, and the CPU per request of server and PostgreSQL together
 * (µs). Nothing (undefined: `–` in the report) for a run that did not watch PostgreSQL.
 */
function withPostgres(watched, span, serverSeconds, requests) {
  const pgSeconds = watched?.postgresSeconds;
  if (pgSeconds === undefined) return { postgresCpu: undefined, cpuPerRequestUs: undefined };
  return {
    postgresCpu: (pgSeconds / span) * 100,
    postgresOtherCpu: ((watched.postgresOtherSeconds ?? 0) / span) * 100,
    cpuPerRequestUs:
      serverSeconds !== undefined && requests > 0 ? ((serverSeconds + pgSeconds) / requests) * 1e6 : undefined,
  };
}

// ---------------------------------------------------------------------------------
// One full-flow run: the autocannon driver pinned to the load core
// ---------------------------------------------------------------------------------
async function fullFlowRun(ctx, cell, { settle, duration }) {
  const { target } = cell;
  const [command, args] = pinned(pinning.load, [
    'node',
    FULL_FLOW,
    '--url',
    target.url,
    '--target',
    target.fullFlow,
    '--duration',
    String(duration),
    '--settle',
    String(settle),
    '--connections',
    String(mode.full.connections),
  ]);
  cell.rss.take();
  const server0 = cpuSeconds(target.pid);
  const load0 = childrenCpuSeconds();
  const watchEnd = target.watch?.();
  const t0 = performance.now();
  const result = await runToEnd(command, args, {
    env: { ...benchEnv(shared), BENCH_CLIENT_SECRET: target.clientSecret },
    timeoutMs: (settle + duration + 120) * 1000,
  });
  const wall = (performance.now() - t0) / 1000;
  const load1 = childrenCpuSeconds();
  const server1 = cpuSeconds(target.pid);
  const watched = await watchEnd?.();
  const rss = cell.rss.take();
  if (result.code !== 0) throw new Error(`full-flow driver failed (${result.code}): ${result.stderr.slice(-1500)}`);
  const f = parseBenchJson(result.stdout, 'full-flow');
  const serverSeconds = server0 !== undefined && server1 !== undefined ? server1 - server0 : undefined;
  return {
    requests: f.flows,
    seconds: f.seconds,
    rps: f.flows_per_s,
    p50: f.p50_ms,
    p99: f.p99_ms,
    errors: f.errors + f.timeouts + f.socket_errors + (f.flows === 0 ? 1 : 0),
    exhausted: 0,
    sample: f.sample || (f.flows === 0 ? 'no flow completed' : ''),
    detail: {
      errors_by_step: f.errors_by_step,
      timeouts: f.timeouts,
      socket_errors: f.socket_errors,
      http_requests: f.http_requests,
    },
    serverCpu:
      server0 !== undefined && server1 !== undefined ? ((server1 - server0) / (settle + duration)) * 100 : undefined,
    // The driver runs a bit longer than the load (Node start-up, module loading).
    loadCpu: ((load1 - load0) / wall) * 100,
    rss,
    watched,
    // The CPU is measured over settle + duration and the flows counted in duration only:
    // per flow is the CPU rate over the flow rate.
    ...withPostgres(watched, settle + duration, serverSeconds, f.flows_per_s * (settle + duration)),
  };
}

// ---------------------------------------------------------------------------------
// The servers: started fresh for each flow (full mode), or once for all flows (quick)
// ---------------------------------------------------------------------------------
async function startServers(ctx, targets) {
  log(`starting ${targets.length} servers`);
  return Promise.all(
    targets.map(async (target) => {
      const server = { target, warm: false, rate: INITIAL_RATE, startError: undefined };
      try {
        await target.start(ctx);
        server.rss = rssSampler(target.pid);
      } catch (err) {
        server.startError = `did not start: ${err.message}`;
        log(`  ${target.id}: ${server.startError}`);
      }
      return server;
    }),
  );
}

async function stopServers(servers) {
  for (const server of servers) {
    server.rss?.stop();
    await server.target.stop().catch((err) => log(`  ${server.target.id}: stop failed: ${err.message}`));
  }
}

// ---------------------------------------------------------------------------------
// A flow across all servers: each warmed up, then the measured runs interleaved (round r
// of every server before round r+1), so that drift in the machine's load spreads over all
// servers instead of favouring one.
// ---------------------------------------------------------------------------------
async function measureFlow(ctx, flow, servers) {
  const isFull = flow === 'full';
  log(`flow ${flow}`);
  // A cell is one server in this flow; `rate` sizes the next credential pool and carries
  // over from the server's previous flow.
  const measured = servers.filter((server) => !server.target.flows || server.target.flows.includes(flow));
  const cells = measured.map((server) => ({
    server,
    target: server.target,
    rss: server.rss,
    runs: [],
    rate: server.rate,
    error: server.startError,
  }));
  const live = () => cells.filter((c) => !c.error);
  const guard = async (cell, what, fn) => {
    try {
      if (!alive(cell.target)) throw new Error('the server process has exited');
      return await fn();
    } catch (err) {
      cell.error = `${what}: ${err.message.split('\n')[0]}`;
      log(`  ${cell.target.id}: ${cell.error}`);
      return undefined;
    }
  };
  const warmup = isFull ? mode.full.warmup : mode.warmup;
  for (const cell of warmup > 0 ? live() : []) {
    if (cell.server.warm && !mode.freshPerFlow) continue;
    await guard(cell, 'warm-up', async () => {
      const run = isFull
        ? await fullFlowRun(ctx, cell, { settle: 0, duration: warmup })
        : await wrkAttempt(ctx, cell, flow, warmup, { warmup: true });
      cell.server.warm = true;
      log(`  ${cell.target.id} warm-up: ${run.rps.toFixed(1)} /s`);
    });
  }
  const runs = isFull ? mode.full.runs : mode.runs;
  for (let r = 0; r < runs; r++) {
    for (const cell of live()) {
      await guard(cell, `run ${r + 1}`, async () => {
        const run = isFull ? await fullFlowRun(ctx, cell, mode.full) : await wrkAttempt(ctx, cell, flow, mode.duration);
        cell.runs.push(run);
        log(
          `  ${cell.target.id} run ${r + 1}/${runs}: ${run.rps.toFixed(1)} /s p50 ${run.p50.toFixed(2)} ms p99 ${run.p99.toFixed(2)} ms` +
            ` server ${run.serverCpu?.toFixed(0)}% load ${run.loadCpu.toFixed(0)}% rss ${run.rss.toFixed(0)} MB` +
            (run.postgresCpu !== undefined
              ? ` postgres ${run.postgresCpu.toFixed(0)}% ${run.cpuPerRequestUs?.toFixed(0)} µs/request`
              : '') +
            (run.errors ? ` ERRORS ${run.errors}: ${run.sample}` : ''),
        );
      });
    }
  }
  for (const cell of cells) {
    if (!isFull) cell.server.rate = cell.rate;
    // A server that failed or exited in this flow is not asked to serve the next one.
    cell.server.startError ??= cell.error && !alive(cell.target) ? cell.error : undefined;
  }
  return cells.map((cell) => summarize(cell));
}

const median = (values) => {
  const v = values.filter((x) => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

function summarize(cell) {
  const { target, runs } = cell;
  const invalid = runs.filter((r) => r.errors > 0);
  return {
    id: target.id,
    label: target.label,
    kind: target.kind,
    runs: runs.length,
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    rss: runs.length ? Math.max(...runs.map((r) => r.rss)) : undefined,
    serverCpu: median(runs.map((r) => r.serverCpu)),
    // Tessera on PostgreSQL only (null elsewhere): PostgreSQL's CPU, and the CPU per request
    // of server and PostgreSQL together, in µs (per flow for the full flow).
    postgresCpu: median(runs.map((r) => r.postgresCpu)) ?? null,
    cpuPerRequestUs: median(runs.map((r) => r.cpuPerRequestUs)) ?? null,
    loadCpu: median(runs.map((r) => r.loadCpu)),
    valid: !cell.error && runs.length > 0 && invalid.length === 0,
    problem:
      cell.error ??
      (invalid.length
        ? `${invalid.reduce((s, r) => s + r.errors, 0)} failed responses, e.g. ${invalid[0].sample}`
        : undefined),
    raw: runs,
  };
}

// ---------------------------------------------------------------------------------
// Tessera with 1 000 and 1 000 000 live tokens; start-up time
// ---------------------------------------------------------------------------------
async function measureScale(ctx) {
  // Both data sizes are seeded and kept running, then measured in turn (run 1 of each, run
  // 2 of each, …) like the flows above: measured one after the other, minutes apart, the
  // machine's drift alone would show as a difference between them.
  const rows = [];
  const live = [];
  try {
    for (const size of mode.scale) {
      const target = tesseraTarget({
        id: `tessera-sqlite-${size}`,
        label: `Tessera, SQLite, ${size} live tokens`,
        database: sqliteDatabase(),
        logLevel: LOG_LEVEL,
      });
      log(`data size ${size}: seeding ${size} live access tokens (grant + token each, through the Store)`);
      const row = { size, flows: {} };
      rows.push(row);
      try {
        let lastLog = 0;
        await target.start(ctx, {
          live: size,
          onSeed: (done) => {
            if (done - lastLog >= 200_000 || done === size) {
              lastLog = done;
              log(`  seeded ${done}`);
            }
          },
        });
        row.seedSeconds = target.seedSeconds;
        const file = target.db.path;
        row.dbMB =
          ['', '-wal'].reduce((s, ext) => s + (existsSync(file + ext) ? statSync(file + ext).size : 0), 0) / 2 ** 20;
        live.push({ row, target, cell: { target, runs: [], rate: INITIAL_RATE, rss: rssSampler(target.pid) } });
      } catch (err) {
        row.error = err.message.split('\n')[0];
        log(`  failed: ${row.error}`);
        await target.stop().catch(() => undefined);
      }
    }
    for (const flow of ['bearer', 'code']) {
      for (const { cell } of live) {
        cell.runs = [];
        cell.rate = INITIAL_RATE;
        await wrkAttempt(ctx, cell, flow, mode.warmup, { warmup: true });
      }
      for (let r = 0; r < mode.runs; r++)
        for (const { cell } of live) cell.runs.push(await wrkAttempt(ctx, cell, flow, mode.duration));
      for (const { row, cell } of live) {
        const s = (row.flows[flow] = summarize(cell));
        log(
          `  ${row.size} live tokens, ${flow}: ${s.rps.toFixed(0)} req/s p99 ${s.p99.toFixed(2)} ms${s.valid ? '' : ` INVALID: ${s.problem}`}`,
        );
      }
    }
  } catch (err) {
    for (const { row } of live) row.error ??= err.message.split('\n')[0];
    log(`  failed: ${err.message.split('\n')[0]}`);
  } finally {
    for (const { cell, target } of live) {
      cell.rss.stop();
      await target.stop().catch(() => undefined);
    }
  }
  return rows;
}

async function measureStartup(ctx) {
  const fresh = [];
  const existing = [];
  const dbDir = join(ctx.dir, 'startup');
  const run = async (dbPath, into) => {
    const [command, args] = pinned(pinning.server, [
      'node',
      join(ROOT, 'dist', 'cli', 'main.js'),
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--db',
      `sqlite:${dbPath}`,
      '--log-level',
      LOG_LEVEL,
    ]);
    const p = await startProcess({
      command,
      args,
      env: {},
      logFile: join(ctx.dir, 'startup.log'),
      readyLine: 'listening on',
      cwd: ROOT,
    });
    into.push(p.readyMs);
    await stopProcess(p.child);
  };
  for (let i = 0; i < mode.startups; i++) await run(join(dbDir, `fresh-${i}`, 'tessera.db'), fresh);
  for (let i = 0; i < mode.startups; i++) await run(join(dbDir, 'fresh-0', 'tessera.db'), existing);
  rmSync(dbDir, { recursive: true, force: true });
  return { fresh: median(fresh), existing: median(existing), freshAll: fresh, existingAll: existing };
}

// ---------------------------------------------------------------------------------
// Scale-out: 1, 2, 3 instances of tessera serve on one PostgreSQL database behind nginx
// ---------------------------------------------------------------------------------
const sum = (values) => values.reduce((a, b) => a + (b ?? 0), 0);

/** A scale-out run's per-instance counts and CPU, from what its watch saw (lib/scale-out.mjs). */
function scaleOutRun(run) {
  const w = run.watched;
  const instances = w.instances.map((i) => ({
    name: i.name,
    address: i.address,
    answered: i.answered,
    rps: i.answered / run.seconds,
    cpuSeconds: i.cpuSeconds,
    cpu: i.cpuSeconds === undefined ? undefined : (i.cpuSeconds / run.seconds) * 100,
  }));
  const counted = sum(instances.map((i) => i.answered));
  // nginx may have answered (and logged) up to one request per connection whose answer wrk
  // no longer read when it stopped; it cannot have logged fewer 200s than wrk counted.
  const countProblem =
    run.errors === 0 && (counted < run.requests || counted > run.requests + CONNECTIONS || w.strays > 0)
      ? `nginx logged ${counted} answers from this count's instances (and ${w.strays} from others) for wrk's ${run.requests}`
      : undefined;
  const instanceSeconds = sum(instances.map((i) => i.cpuSeconds));
  return {
    ...run,
    instances,
    counted,
    // Lines of other statuses (499: answers wrk no longer waited for when it stopped).
    notOk: w.notOk,
    strays: w.strays,
    countProblem,
    errors: run.errors + (countProblem ? 1 : 0),
    sample: countProblem ?? run.sample,
    nginxCpu: (w.nginxSeconds / run.seconds) * 100,
    postgresCpu: (w.postgresSeconds / run.seconds) * 100,
    postgresOtherCpu: (w.postgresOtherSeconds / run.seconds) * 100,
    cpuPerRequestUs: run.requests > 0 ? ((instanceSeconds + w.postgresSeconds) / run.requests) * 1e6 : undefined,
  };
}

function summarizeScaleOut(row) {
  const { cell, n } = row;
  const runs = cell.runs;
  const invalid = runs.filter((r) => r.errors > 0);
  return {
    instances: n,
    runs: runs.length,
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    perInstance: Array.from({ length: n }, (_, i) => ({
      name: runs[0]?.instances[i]?.name,
      rps: median(runs.map((r) => r.instances[i]?.rps)),
      cpu: median(runs.map((r) => r.instances[i]?.cpu)),
    })),
    postgresCpu: median(runs.map((r) => r.postgresCpu)),
    postgresOtherCpu: median(runs.map((r) => r.postgresOtherCpu)),
    nginxCpu: median(runs.map((r) => r.nginxCpu)),
    loadCpu: median(runs.map((r) => r.loadCpu)),
    cpuPerRequestUs: median(runs.map((r) => r.cpuPerRequestUs)),
    // Over all measured runs: what wrk counted, and the 200s nginx logged per instance.
    requests: sum(runs.map((r) => r.requests)),
    counted: sum(runs.map((r) => r.counted)),
    valid: !cell.error && runs.length > 0 && invalid.length === 0,
    problem:
      cell.error ??
      (invalid.length
        ? `${invalid.reduce((s, r) => s + r.errors, 0)} failed responses, e.g. ${invalid[0].sample}`
        : undefined),
    raw: runs.map(({ watched: _watched, ...run }) => run),
  };
}

/** One flow over the instance counts: each warmed up, then the measured runs interleaved. */
async function measureScaleOutFlow(ctx, cluster, rows, flow) {
  log(`scale-out, flow ${flow}`);
  for (const row of rows) {
    row.cell.runs = [];
    row.cell.error = undefined;
  }
  const guard = async (row, what, fn) => {
    if (row.cell.error) return;
    try {
      if (!cluster.alive()) throw new Error('an instance has exited');
      await fn();
    } catch (err) {
      row.cell.error = `${what}: ${err.message.split('\n')[0]}`;
      log(`  ${row.n} instance(s): ${row.cell.error}`);
    }
  };
  // Each instance is first warmed up alone, straight at its own port, for the same time:
  // through nginx alone, the first instance would get the 1-instance row's warm-up besides
  // its share of the others', and would be the warmest (least CPU per request) of the rows
  // with more instances. Then each count through nginx (its pool size, nginx's connections).
  if (!cluster.warm) {
    for (const server of cluster.servers) {
      const cell = {
        target: { ...rows[0].cell.target, id: `scale-out-${server.name}`, url: server.url, watch: undefined },
        runs: [],
        rate: rows[0].cell.rate,
        rss: rows[0].cell.rss,
      };
      try {
        if (!cluster.alive()) throw new Error('an instance has exited');
        const run = await wrkAttempt(ctx, cell, flow, mode.warmup, { warmup: true });
        log(`  instance ${server.name} warm-up, alone: ${run.rps.toFixed(1)} /s`);
      } catch (err) {
        for (const row of rows) row.cell.error ??= `warm-up of instance ${server.name}: ${err.message.split('\n')[0]}`;
        log(`  ${rows[0].cell.error}`);
        break;
      }
    }
    cluster.warm = true;
  }
  for (const row of rows) {
    if (row.warm) continue;
    await guard(row, 'warm-up', async () => {
      const run = await wrkAttempt(ctx, row.cell, flow, mode.warmup, { warmup: true });
      row.warm = true;
      log(`  ${row.n} instance(s) warm-up: ${run.rps.toFixed(1)} /s`);
    });
  }
  for (let r = 0; r < mode.runs; r++) {
    for (const row of rows) {
      await guard(row, `run ${r + 1}`, async () => {
        const run = scaleOutRun(await wrkAttempt(ctx, row.cell, flow, mode.duration));
        row.cell.runs.push(run);
        log(
          `  ${row.n} instance(s) run ${r + 1}/${mode.runs}: ${run.rps.toFixed(1)} /s ` +
            `(${run.instances.map((i) => `${i.name} ${i.rps.toFixed(0)}`).join(', ')}) p99 ${run.p99.toFixed(2)} ms; CPU ` +
            `${run.instances.map((i) => `${i.name} ${i.cpu?.toFixed(0)}%`).join(', ')}, postgres ${run.postgresCpu.toFixed(0)}%, ` +
            `nginx ${run.nginxCpu.toFixed(0)}%, wrk ${run.loadCpu.toFixed(0)}%; ${run.cpuPerRequestUs?.toFixed(0)} µs/request` +
            (run.errors ? ` ERRORS ${run.errors}: ${run.sample}` : ''),
        );
      });
    }
  }
  const summaries = rows.map(summarizeScaleOut);
  const one = summaries[0];
  for (const s of summaries) {
    s.cpuPerRequestVsOne = s.valid && one.valid ? s.cpuPerRequestUs / one.cpuPerRequestUs : undefined;
  }
  return { rows: summaries };
}

/**
 * The scale-out section. Full mode: a fresh cluster (database, seeder, instances, nginx)
 * for each flow, as the servers above; quick mode: one cluster for all flows, each count
 * warmed up before its first flow only.
 */
async function measureScaleOut(ctx, pgAdmin, nginxBin) {
  const counts = Array.from({ length: SCALE_OUT_INSTANCES }, (_, i) => i + 1);
  const out = { instances: counts, flows: {} };
  const batches = mode.freshPerFlow ? SCALE_OUT_FLOWS.map((flow) => [flow]) : [SCALE_OUT_FLOWS];
  for (const flows of batches) {
    let cluster;
    try {
      log(`scale-out: starting ${SCALE_OUT_INSTANCES} instances on one PostgreSQL database, and nginx`);
      cluster = await startCluster(ctx, {
        database: postgresDatabase(pgAdmin, pg),
        logLevel: LOG_LEVEL,
        instances: SCALE_OUT_INSTANCES,
        nginxBin,
      });
      const rows = counts.map((n) => ({
        n,
        warm: false,
        cell: {
          target: {
            id: `scale-out-${n}`,
            url: cluster.nginx.urls[n - 1],
            paths: TESSERA_PATHS,
            markers: TESSERA_MARKERS,
            clientSecret: cluster.clientSecret,
            issue: cluster.issue,
            watch: cluster.watch(n),
          },
          runs: [],
          rate: INITIAL_RATE,
          // The instances' memory is not what this section is about.
          rss: { take: () => undefined },
        },
      }));
      for (const flow of flows) out.flows[flow] = await measureScaleOutFlow(ctx, cluster, rows, flow);
    } catch (err) {
      const message = err.message.split('\n')[0];
      log(`  scale-out failed: ${message}`);
      for (const flow of flows) out.flows[flow] ??= { error: message, rows: [] };
    } finally {
      await cluster?.stop();
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------
async function main() {
  const started = new Date();
  await ensureWrk();
  if (!which('taskset') || os.cpus().length < 2) {
    pinning.enabled = false;
    log('taskset missing or fewer than 2 cores: running unpinned (numbers are less trustworthy)');
  }
  setClockTicks(Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100);
  if (!flag('no-build')) {
    log('building Tessera (npm run build)');
    const b = await runToEnd('npm', ['run', 'build'], { cwd: ROOT });
    if (b.code !== 0) throw new Error(`npm run build failed:\n${b.stdout.slice(-2000)}${b.stderr.slice(-2000)}`);
  }
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js')))
    throw new Error('dist/cli/main.js is missing: run npm run build');

  const info = machine();
  const pgAdmin = await postgresAdminUrl();
  const usage = (message) => Object.assign(new Error(message), { usage: true });
  if (SCALE_OUT_ONLY && flag('no-scale-out')) throw usage('--scale-out-only and --no-scale-out contradict each other');
  // The scale-out section needs PostgreSQL and nginx; without them it is left out (and the
  // report says why), unless it is all that was asked for.
  let scaleOutSkipped;
  let nginxBin;
  if (!flag('no-scale-out')) {
    if (!pgAdmin)
      scaleOutSkipped = flag('no-postgres') ? 'PostgreSQL left out (--no-postgres)' : 'PostgreSQL not reachable';
    else if (SCALE_OUT_FLOWS.length === 0) scaleOutSkipped = 'none of its flows (code, refresh, bearer) asked for';
    else if (!(nginxBin = await ensureNginx(log))) scaleOutSkipped = 'nginx not installed';
    if (scaleOutSkipped && SCALE_OUT_ONLY) throw usage(`--scale-out-only: ${scaleOutSkipped}`);
    if (scaleOutSkipped) log(`scale-out section skipped: ${scaleOutSkipped}`);
  }
  const dir = mkdtempSync(join(os.tmpdir(), 'tessera-bench-'));
  const ctx = { dir, shared };
  log(`mode ${quick ? 'quick' : 'full'}; work files in ${dir}`);

  const targets = [
    tesseraTarget({
      id: 'tessera-sqlite',
      label: 'Tessera, SQLite (WAL, synced before each answer)',
      database: sqliteDatabase(),
      logLevel: LOG_LEVEL,
    }),
    // The code exchange and refresh issuing RFC 9068 JWTs (ES256) instead of opaque tokens.
    tesseraTarget({
      id: 'tessera-sqlite-jwt',
      label: 'Tessera, SQLite, JWT access tokens (ES256)',
      database: sqliteDatabase(),
      logLevel: LOG_LEVEL,
      accessTokenFormat: 'jwt',
      flows: ['code', 'refresh'],
    }),
    ...(pgAdmin
      ? [
          tesseraTarget({
            id: 'tessera-postgres',
            label: 'Tessera, PostgreSQL',
            database: postgresDatabase(pgAdmin, pg),
            logLevel: LOG_LEVEL,
          }),
          tesseraTarget({
            id: 'tessera-postgres-jwt',
            label: 'Tessera, PostgreSQL, JWT access tokens (ES256)',
            database: postgresDatabase(pgAdmin, pg),
            logLevel: LOG_LEVEL,
            accessTokenFormat: 'jwt',
            flows: ['code', 'refresh'],
          }),
        ]
      : []),
    ...peerTargets(),
  ].filter((t) => !SCALE_OUT_ONLY && (!ONLY || ONLY.includes(t.id)));

  const results = { flows: {}, scale: undefined, scaleOut: undefined, startup: undefined };
  try {
    // The flows that one start of the servers serves: one each (full), all (quick).
    const batches = SCALE_OUT_ONLY ? [] : mode.freshPerFlow ? FLOWS.map((flow) => [flow]) : [FLOWS];
    for (const flows of batches) {
      const servers = await startServers(ctx, targets);
      try {
        for (const flow of flows) results.flows[flow] = await measureFlow(ctx, flow, servers);
      } finally {
        await stopServers(servers);
      }
    }
    if (!flag('no-scale-out')) {
      results.scaleOut = scaleOutSkipped
        ? { skipped: scaleOutSkipped, flows: {} }
        : await measureScaleOut(ctx, pgAdmin, nginxBin);
    }
    if (!SCALE_OUT_ONLY && !flag('no-scale')) results.scale = await measureScale(ctx);
    if (!SCALE_OUT_ONLY && !flag('no-startup')) {
      log('start-up time of tessera serve');
      results.startup = await measureStartup(ctx);
    }
  } finally {
    await stopAll();
    await dropDatabases();
    rmSync(dir, { recursive: true, force: true });
  }

  info.loadAfter = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const meta = {
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    quick,
    mode,
    connections: CONNECTIONS,
    logLevel: LOG_LEVEL,
    started: started.toISOString(),
    minutes: (Date.now() - started.getTime()) / 60_000,
    machine: info,
    pinning: pinning.enabled
      ? `servers on core ${pinning.server}, load generators on core ${pinning.load} (taskset)`
      : 'none',
    postgres: targets.some((t) => t.id === 'tessera-postgres'),
    scaleOut: nginxBin
      ? {
          instances: SCALE_OUT_INSTANCES,
          nginx: nginxVersion(nginxBin),
          pinning: pinning.enabled
            ? `instances on core ${pinning.server}; nginx (one worker) and wrk on core ${pinning.load}; PostgreSQL unpinned`
            : 'none',
        }
      : undefined,
    scaleOutOnly: SCALE_OUT_ONLY,
  };
  writeReport(OUT, meta, results);
  writeFileSync(OUT.replace(/\.md$/, '.json'), JSON.stringify({ meta, results }, null, 2) + '\n');
  log(`wrote ${OUT} (${meta.minutes.toFixed(1)} minutes)`);
}

const onSignal = () => {
  stopAll()
    .then(dropDatabases)
    .finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

main().catch(async (err) => {
  log(`failed: ${err.usage ? err.message : (err.stack ?? err)}`);
  await stopAll();
  await dropDatabases();
  process.exit(1);
});
