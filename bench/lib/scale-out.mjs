// The scale-out section's machinery: several `tessera serve` instances on one PostgreSQL
// database, and one nginx in front of them with a round-robin upstream per instance count
// (1, 2, 3…), each on its own port, so that the counts can be measured in turn without
// restarting anything. nginx writes which instance answered each request to its access
// log; a run counts the lines it added. See bench/README.md, "Scale-out on PostgreSQL".
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import {
  cpuSeconds,
  freePort,
  order,
  pinned,
  pinning,
  runToEnd,
  startProcess,
  stopProcess,
  treeCpuSampler,
} from './proc.mjs';
import { postgresDatabaseName, postgresWatch, startTesseraSeeder, startTesseraServe } from './targets.mjs';

const NAMES = 'ABCDEFGH';

/** nginx from TESSERA_NGINX, Debian's path, or PATH; undefined when not installed. */
export function findNginx() {
  if (process.env.TESSERA_NGINX) return process.env.TESSERA_NGINX;
  if (existsSync('/usr/sbin/nginx')) return '/usr/sbin/nginx';
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** nginx, installed from Debian when missing and root (as the bench does for wrk); undefined when not possible. */
export async function ensureNginx(log) {
  const found = findNginx();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    log('nginx is not installed and this is not root: the scale-out section is skipped (apt-get install nginx)');
    return undefined;
  }
  log('nginx is not installed; installing it from Debian (apt-get install -y nginx)');
  const r = await runToEnd('sh', ['-c', 'apt-get install -y nginx || (apt-get update && apt-get install -y nginx)']);
  const installed = findNginx();
  if (r.code !== 0 || !installed) {
    log(`nginx could not be installed: the scale-out section is skipped. apt said:\n${r.stderr.slice(-1500)}`);
    return undefined;
  }
  return installed;
}

export function nginxVersion(bin) {
  try {
    // nginx -v writes "nginx version: nginx/1.22.1" to stderr.
    return execFileSync('sh', ['-c', `"${bin}" -v 2>&1`], { encoding: 'utf8' })
      .trim()
      .replace(/^nginx version: /, '');
  } catch {
    return 'nginx';
  }
}

function get(url) {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 2000, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/**
 * nginx, pinned to the load core beside wrk: one worker (that core is all it gets), an
 * upstream per entry of `groups` (a list of instance addresses) and a `server` listening
 * on a free port for each. Settings as in docs/nginx.conf.example where they bear on speed:
 * HTTP/1.1 with idle connections kept open to the instances (without `keepalive`, nginx
 * opens a connection per request and the instances pay for it). Connections from wrk
 * and to the instances are never closed after a number of requests (`keepalive_requests`,
 * 1000 by default), so that no run includes reconnections the single-instance cells do not
 * have. The access log has one line per request: status, then the instance that answered.
 */
export async function startNginx(ctx, { bin, groups }) {
  // Its own folder outside the bench's (mode 0700): run as root, nginx's workers take an
  // unprivileged user, and must reach the temp folders.
  const dir = mkdtempSync(join(os.tmpdir(), 'tessera-bench-nginx-'));
  chmodSync(dir, 0o755);
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const ports = [];
  for (let i = 0; i < groups.length; i++) ports.push(await freePort());
  const upstreams = groups
    .map(
      (addresses, i) => `  upstream tessera_${i + 1} {
${addresses.map((a) => `    server ${a};`).join('\n')}
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${ports[i]};
    keepalive_requests 1000000;
    location / {
      proxy_pass http://tessera_${i + 1};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      client_max_body_size 64k;
    }
  }`,
    )
    .join('\n');
  const conf = `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  log_format upstreams '$status $upstream_addr';
  access_log ${dir}/access.log upstreams;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${upstreams}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  writeFileSync(join(dir, 'access.log'), '');
  const [command, args] = pinned(pinning.load, [
    bin,
    '-e',
    join(dir, 'error.log'),
    '-p',
    dir,
    '-c',
    join(dir, 'nginx.conf'),
  ]);
  const proc = await startProcess({ command, args, env: {}, logFile: join(ctx.dir, 'nginx.log'), cwd: dir });
  const nginx = {
    pid: proc.pid,
    dir,
    urls: ports.map((p) => `http://127.0.0.1:${p}`),
    accessLog: join(dir, 'access.log'),
    workers: [],
    async stop() {
      // SIGTERM: the master ends its workers. Had it to be killed, a worker it left is
      // killed by pid, once it is sure to be that worker (same start time), not a new
      // process that got its pid.
      await stopProcess(proc.child);
      for (const worker of this.workers) {
        if (processStart(worker.pid) !== worker.start) continue;
        try {
          process.kill(worker.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // Ready when every port answers through to an instance.
  const deadline = Date.now() + 15_000;
  for (const url of nginx.urls) {
    for (;;) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        const errors = existsSync(join(dir, 'error.log'))
          ? execFileSync('tail', ['-5', join(dir, 'error.log')], { encoding: 'utf8' })
          : '';
        await nginx.stop();
        throw new Error(`nginx exited (${proc.child.exitCode ?? proc.child.signalCode}): ${errors}`);
      }
      if ((await get(`${url}/healthz`)) === 200) break;
      if (Date.now() > deadline) {
        await nginx.stop();
        throw new Error(`nginx did not answer on ${url} within 15 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  nginx.workers = children(proc.pid);
  return nginx;
}

/** A process's start time (field 22 of /proc/PID/stat, clock ticks after boot), or undefined. */
function processStart(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The children of a process (nginx's workers), each with its start time. */
function children(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((p) => ({ pid: Number(p), start: processStart(Number(p)) }));
  } catch {
    return [];
  }
}

/** What nginx's access log gained since `offset`: 200s per instance address, other lines, new offset. */
export function readAccessLog(file, offset) {
  const size = statSync(file).size;
  const buffer = Buffer.alloc(Math.max(0, size - offset));
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, offset);
  } finally {
    closeSync(fd);
  }
  const text = buffer.toString('utf8');
  // Only whole lines: a line being written is left for the next read.
  const end = text.lastIndexOf('\n') + 1;
  const ok = {};
  let other = 0;
  for (const line of text.slice(0, end).split('\n')) {
    if (line === '') continue;
    const [status, ...rest] = line.split(' ');
    // After a failed attempt nginx lists every instance it tried ("a, b"): the last answered.
    const address = rest.join(' ').split(', ').at(-1);
    if (status === '200') ok[address] = (ok[address] ?? 0) + 1;
    else other += 1;
  }
  return { ok, other, offset: offset + Buffer.byteLength(text.slice(0, end)) };
}

/**
 * The scale-out cluster: a fresh database (from `database`), the seeder on it, `instances`
 * `tessera serve` processes pinned to the server core, and nginx on the load core with
 * one upstream per count 1…instances (the first n instances). `watch(n)` is a run's watch
 * (lib/wrk.mjs) for the count n: every instance's CPU, PostgreSQL's, nginx's, and the 200s
 * each instance answered according to nginx's log.
 */
export async function startCluster(ctx, { database, logLevel, instances, nginxBin }) {
  const cluster = { servers: [], seeder: undefined, nginx: undefined, db: undefined };
  cluster.stop = async () => {
    await cluster.nginx?.stop().catch(() => undefined);
    for (const s of cluster.servers) await stopProcess(s.child);
    await stopProcess(cluster.seeder?.child);
    await cluster.db?.drop().catch(() => undefined);
  };
  try {
    cluster.db = await database(ctx);
    cluster.seeder = await startTesseraSeeder(ctx, { id: 'scale-out', dbUrl: cluster.db.url });
    cluster.clientSecret = cluster.seeder.clientSecret;
    for (let i = 0; i < instances; i++) {
      const proc = await startTesseraServe(ctx, { id: `scale-out-${NAMES[i]}`, dbUrl: cluster.db.url, logLevel });
      const url = new URL(proc.url);
      cluster.servers.push({ ...proc, name: NAMES[i], address: `${url.hostname}:${url.port}` });
    }
    cluster.nginx = await startNginx(ctx, {
      bin: nginxBin,
      groups: cluster.servers.map((_, i) => cluster.servers.slice(0, i + 1).map((s) => s.address)),
    });
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  const pgWatch = postgresWatch(postgresDatabaseName(cluster.db.url));
  cluster.issue = (flow, n, file) => order(cluster.seeder.child, { type: 'issue', flow, n, file });
  cluster.alive = () => cluster.servers.every((s) => s.child.exitCode === null && s.child.signalCode === null);
  cluster.watch = (n) => () => {
    const servers = cluster.servers.slice(0, n);
    const before = servers.map((s) => cpuSeconds(s.pid));
    const offset = statSync(cluster.nginx.accessLog).size;
    const nginxCpu = treeCpuSampler(cluster.nginx.pid);
    const pgEnd = pgWatch();
    return async () => {
      const after = servers.map((s) => cpuSeconds(s.pid));
      const nginxSeconds = nginxCpu.stop().seconds.tree ?? 0;
      const postgres = pgEnd();
      // nginx writes a request's line once it has answered it: the last few may land a
      // moment after wrk has read their answers.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const counted = readAccessLog(cluster.nginx.accessLog, offset);
      return {
        ...postgres,
        nginxSeconds,
        instances: servers.map((s, i) => ({
          name: s.name,
          address: s.address,
          cpuSeconds: before[i] !== undefined && after[i] !== undefined ? after[i] - before[i] : undefined,
          answered: counted.ok[s.address] ?? 0,
        })),
        // 200s from addresses that are not in this count's upstream (there should be none).
        strays: Object.entries(counted.ok)
          .filter(([address]) => !servers.some((s) => s.address === address))
          .reduce((sum, [, count]) => sum + count, 0),
        notOk: counted.other,
      };
    };
  };
  return cluster;
}
