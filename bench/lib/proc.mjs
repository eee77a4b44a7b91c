// Processes for the bench: starting pinned servers, waiting for `listening on`, reading
// CPU time and memory from /proc, and stopping what was started (by pid, nothing else).
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';

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
