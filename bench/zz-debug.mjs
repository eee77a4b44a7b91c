import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { startProcess, order, stopProcess } from './lib/proc.mjs';
import { benchEnv } from './lib/targets.mjs';
const shared = { clientId: 'bench-client', clientSecret: 'sekrit-sekrit-sekrit', redirectUri: 'http://127.0.0.1:9999/cb', users: ['u1'], password: 'pw12345678' };
const script = process.argv[2];
const p = await startProcess({ command: 'node', args: [join('bench/servers', script), ...process.argv.slice(3)], env: { ...benchEnv(shared), DEBUG: process.env.DEBUG ?? '' }, logFile: '/tmp/benchx/dbg.log', ipc: true, readyLine: 'listening on' });
console.log('url', p.url);
const basic = `Basic ${Buffer.from(`${shared.clientId}:${shared.clientSecret}`).toString('base64')}`;
for (const flow of ['code', 'refresh', 'bearer']) {
  await order(p.child, { type: 'issue', flow, n: 2, file: `/tmp/benchx/${flow}.txt` });
  const line = readFileSync(`/tmp/benchx/${flow}.txt`, 'utf8').split('\n')[0];
  let res;
  if (flow === 'bearer') res = await fetch(`${p.url}/me`, { headers: { authorization: `Bearer ${line}` } });
  else {
    const [code, verifier] = line.split(' ');
    const body = flow === 'code' ? `grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent(shared.redirectUri)}&code_verifier=${verifier}` : `grant_type=refresh_token&refresh_token=${code}`;
    res = await fetch(`${p.url}/token`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body });
  }
  console.log(flow, res.status, JSON.stringify(Object.fromEntries(res.headers)).slice(0, 300), (await res.text()).slice(0, 300));
}
await stopProcess(p.child);
