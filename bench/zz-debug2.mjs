import { join } from 'node:path';
import { startProcess, stopProcess, runToEnd } from './lib/proc.mjs';
import { benchEnv } from './lib/targets.mjs';
const shared = { clientId: 'bench-client', clientSecret: 'sekrit-sekrit-sekrit', redirectUri: 'http://127.0.0.1:9999/cb', users: ['u1', 'u2'], password: 'pw12345678' };
const [script, target, ...extra] = process.argv.slice(2);
const p = await startProcess({ command: 'node', args: [join('bench/servers', script), ...extra], env: benchEnv(shared), logFile: '/tmp/benchx/dbg.log', ipc: true, readyLine: 'listening on' });
const r = await runToEnd('node', ['bench/loadgen/full-flow.mjs', '--url', p.url, '--target', target, '--duration', '4', '--connections', '2'], { env: benchEnv(shared) });
console.log(r.code, r.stdout, r.stderr.slice(-2000));
await stopProcess(p.child);
