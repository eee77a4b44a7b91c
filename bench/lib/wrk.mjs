// One wrk run against a target (pinned to the load core), with the bench's Lua script:
// returns wrk's counters and latencies, and the CPU the server and wrk used meanwhile.
import { join } from 'node:path';
import { childrenCpuSeconds, cpuSeconds, pinned, pinning, runToEnd } from './proc.mjs';
import { ROOT } from './targets.mjs';

const LUA = join(ROOT, 'bench', 'wrk', 'oauth.lua');

export const basicHeader = (id, secret) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

export function parseBenchJson(stdout, what) {
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`${what}: no BENCH_JSON line in output:\n${stdout.slice(-1500)}`);
  return JSON.parse(line.slice('BENCH_JSON '.length));
}

/**
 * Runs wrk for `seconds` with the credentials in `file` (see wrk/oauth.lua). `target.watch`,
 * when there is one, is called just before wrk starts and returns a function called once wrk
 * has exited (PostgreSQL's CPU, an nginx log): what that resolves to is the run's `watched`.
 */
export async function runWrk({ target, flow, seconds, file, shared, connections }) {
  const path = target.paths[flow === 'bearer' || flow === 'introspect' ? flow : 'token'];
  const [command, args] = pinned(pinning.load, [
    'wrk',
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '5s',
    '-s',
    LUA,
    `${target.url}${path}`,
    '--',
    flow,
    file,
    basicHeader(shared.clientId, target.clientSecret),
    encodeURIComponent(shared.redirectUri),
    target.markers[flow].join('|'),
  ]);
  const server0 = target.pid === undefined ? undefined : cpuSeconds(target.pid);
  const load0 = childrenCpuSeconds();
  const watchEnd = target.watch?.();
  const result = await runToEnd(command, args, { timeoutMs: (seconds + 120) * 1000 });
  // wrk has been reaped: its CPU time is now in this process's children's time.
  const load1 = childrenCpuSeconds();
  const server1 = target.pid === undefined ? undefined : cpuSeconds(target.pid);
  const watched = await watchEnd?.();
  if (result.code !== 0) throw new Error(`wrk failed (${result.code}): ${result.stderr.slice(-1000)}`);
  const w = parseBenchJson(result.stdout, 'wrk');
  const secondsRun = w.duration_us / 1e6;
  const errors =
    w.bad_status + w.bad_body + w.bad_cache + w.connect_errors + w.read_errors + w.write_errors + w.timeouts;
  return {
    requests: w.requests,
    seconds: secondsRun,
    rps: w.requests / secondsRun,
    p50: w.p50_us / 1000,
    p99: w.p99_us / 1000,
    errors,
    exhausted: w.exhausted,
    sample: w.sample,
    detail: {
      bad_status: w.bad_status,
      bad_body: w.bad_body,
      bad_cache: w.bad_cache,
      connect: w.connect_errors,
      read: w.read_errors,
      write: w.write_errors,
      timeouts: w.timeouts,
    },
    serverCpuSeconds: server0 !== undefined && server1 !== undefined ? server1 - server0 : undefined,
    serverCpu: server0 !== undefined && server1 !== undefined ? ((server1 - server0) / secondsRun) * 100 : undefined,
    loadCpu: ((load1 - load0) / secondsRun) * 100,
    watched,
  };
}
