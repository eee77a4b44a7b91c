// Processes for the bench: starting pinned servers, waiting for `listening on`, reading
// CPU time and memory from /proc, and stopping what was started (by pid, nothing else).
import { spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const started = new Set();
let clockTicks = 100;

export function setClockTicks(n) {
  clockTicks = n;
}

/** Whether `taskset` pinning is used (two cores or more); set by run.mjs. */
export const pinning = { enabled: true, server: '0', load: '1' };

/** argv prefixed with `taskset -c CORE` when pinning is on. */
export function pinned(core, argv) {
  return pinning.enabled ? ['taskset', ['-c', core, ...argv]] : [argv[0], argv.slice(1)];
}

/** utime + stime of a process (all its threads), in seconds; undefined once it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime 15.
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

/** comm, parent, CPU seconds (utime + stime) and start (seconds after boot) of a process; throws once it is gone. */
function processStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return {
    pid,
    comm: stat.slice(stat.indexOf('(') + 1, close),
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, starttime 22.
    ppid: Number(fields[1]),
    cpu: (Number(fields[11]) + Number(fields[12])) / clockTicks,
    start: Number(fields[19]) / clockTicks,
  };
}

const uptimeSeconds = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);

/**
 * CPU time of a set of processes that may change during a run (PostgreSQL's backends and
 * helpers, nginx's workers): /proc is scanned every `ms`, `classify(stat)` puts each new
 * process in a group (or returns a falsy value to leave it out), and per pid the first and
 * last utime + stime seen are kept. A process born after the first scan counts from zero; one
 * that ends counts up to its last sample (up to `ms` of it is lost). `stop()` takes a last
 * sample and returns the seconds per group and the number of processes per group.
 */
export function groupCpuSampler(classify, ms = 200) {
  const seen = new Map();
  const left = new Set();
  const since = uptimeSeconds();
  let first = true;
  const scan = () => {
    for (const name of readdirSync('/proc')) {
      if (name.charCodeAt(0) > 57 || name.charCodeAt(0) < 48) continue;
      const pid = Number(name);
      if (left.has(pid)) continue;
      let stat;
      try {
        stat = processStat(pid);
      } catch {
        continue; // gone between readdir and read
      }
      const entry = seen.get(pid);
      if (entry) {
        entry.last = stat.cpu;
        continue;
      }
      const group = classify(stat);
      if (!group) {
        left.add(pid);
        continue;
      }
      seen.set(pid, { group, first: !first && stat.start >= since ? 0 : stat.cpu, last: stat.cpu });
    }
    first = false;
  };
  scan();
  const timer = setInterval(scan, ms);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      scan();
      const seconds = {};
      const processes = {};
      for (const { group, first: a, last: b } of seen.values()) {
        seconds[group] = (seconds[group] ?? 0) + (b - a);
        processes[group] = (processes[group] ?? 0) + 1;
      }
      return { seconds, processes };
    },
  };
}

/** The title PostgreSQL gives a process (update_process_title), or '' when unreadable. */
function processTitle(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+/g, ' ').trim();
  } catch {
    return '';
  }
}

/**
 * PostgreSQL's CPU over a run: every process whose comm is `postgres` (the backends, and the
 * walwriter, checkpointer, background writer… that work for every database). A client
 * backend whose title names another database ("postgres: [cluster: ]USER DB HOST(PORT)
 * STATE", see PostgreSQL's docs on update_process_title) serves other work on this machine
 * and is counted apart, as `other`; everything else is `ours`.
 */
export function postgresCpuSampler(database, ms = 200) {
  return groupCpuSampler(({ pid, comm }) => {
    if (comm !== 'postgres') return undefined;
    const backend = /^postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])/.exec(processTitle(pid));
    return backend && backend[1] !== database ? 'other' : 'ours';
  }, ms);
}

/** A process and its children (nginx's master and workers), sampled like groupCpuSampler. */
export function treeCpuSampler(rootPid, ms = 200) {
  return groupCpuSampler(({ pid, ppid }) => (pid === rootPid || ppid === rootPid ? 'tree' : undefined), ms);
}

/** A TCP port free on 127.0.0.1 at the time of asking (for nginx's listen lines). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** CPU time of this process's reaped children (cutime + cstime), in seconds. */
export function childrenCpuSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / clockTicks;
}

function statusField(pid, name) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export const rssMB = (pid) => statusField(pid, 'VmRSS');
export const peakRssMB = (pid) => statusField(pid, 'VmHWM');

/** Samples a process's RSS every `ms` while running; `take()` returns the max since the last take. */
export function rssSampler(pid, ms = 100) {
  let max = 0;
  const timer = setInterval(() => {
    const v = rssMB(pid);
    if (v !== undefined && v > max) max = v;
  }, ms);
  timer.unref();
  return {
    take() {
      const v = rssMB(pid);
      const out = Math.max(max, v ?? 0);
      max = 0;
      return out;
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/**
 * Starts a long-lived process (a server, a seeder). `logFile` receives stderr. With
 * `ipc`, the child gets Node's IPC channel. Waits for `readyLine` on stdout when given.
 */
export async function startProcess({ command, args, env, logFile, ipc = false, readyLine, timeoutMs = 60_000, cwd }) {
  const log = openSync(logFile, 'a');
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', log, ...(ipc ? ['ipc'] : [])],
  });
  started.add(child);
  child.on('exit', () => started.delete(child));
  let stdout = '';
  const t0 = performance.now();
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${command} ${args.join(' ')}: no "${readyLine}" within ${timeoutMs} ms; see ${logFile}`)),
      timeoutMs,
    );
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (readyLine) {
        const match = new RegExp(`${readyLine}\\s*(\\S+)`).exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve({ match: match[1], ms: performance.now() - t0 });
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited (${code ?? signal}) before it was ready; see ${logFile}`));
    });
    if (!readyLine) {
      clearTimeout(timer);
      resolve({ match: undefined, ms: 0 });
    }
  });
  const result = await ready;
  return { child, pid: child.pid, url: result.match, readyMs: result.ms };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export function stopProcess(child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Stops every process this bench started and is still running (on exit or error). */
export async function stopAll() {
  await Promise.all([...started].map((c) => stopProcess(c, 2000)));
}

/** Runs a command to the end; resolves { code, stdout, stderr, ms }. */
export function runToEnd(command, args, { env, cwd, timeoutMs = 15 * 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    started.add(child);
    let stdout = '';
    let stderr = '';
    const t0 = performance.now();
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      started.delete(child);
      resolve({ code: code ?? signal, stdout, stderr, ms: performance.now() - t0, pid: child.pid });
    });
  });
}

/** Sends an IPC order and waits for the answer with the same id. */
let nextOrder = 1;
export function order(child, message, timeoutMs = 30 * 60_000) {
  const id = nextOrder++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`no answer to ${JSON.stringify(message)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m) => {
      if (!m || m.id !== id) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (m.type === 'failed') reject(new Error(m.error));
      else resolve(m);
    };
    const onExit = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      reject(new Error('process exited before answering'));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ ...message, id });
  });
}

/** The first IPC message of a given type (the seeder's `ready`). */
export function firstMessage(child, type, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} message within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m) => {
      if (m?.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before ${type}`));
    });
  });
}
