// bench/RESULTS.md (or RESULTS.quick.md) from one run's measurements.
import { writeFileSync } from 'node:fs';

const FLOW_TITLES = {
  code: 'Authorization-code exchange (POST token, grant_type=authorization_code, PKCE S256, client_secret_basic)',
  refresh: 'Refresh-token rotation (POST token, grant_type=refresh_token; a fresh refresh token per request)',
  bearer: 'Protected resource with a bearer token (Tessera GET /api/v1/me; peers: see README)',
  introspect:
    'Token introspection (RFC 7662: POST, the client asks about its own access token, client_secret_basic; Tessera /oauth2/introspect, node-oidc-provider /token/introspection)',
  full: 'Complete browserless flow (authorize → sign-in page → sign-in POST → consent page → consent POST → redirect → token), flows/s',
};
const UNIT = { code: 'req/s', refresh: 'req/s', bearer: 'req/s', introspect: 'req/s', full: 'flows/s' };

const fmt = (v, digits = 0) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const num = (v) =>
  v === undefined || !Number.isFinite(v) ? '–' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
const ms = (v) =>
  v === undefined || !Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
const pct = (v) => (v === undefined || v === null || !Number.isFinite(v) ? '–' : `${v.toFixed(0)}%`);
const ratio = (a, b) => (a && b && a.valid && b.valid ? `${(a.rps / b.rps).toFixed(2)}×` : '–');

function find(rows, id) {
  return rows?.find((r) => r.id === id);
}

function flowTable(flow, rows) {
  const sqlite = find(rows, 'tessera-sqlite');
  const postgres = find(rows, 'tessera-postgres');
  const lines = [
    `| server | ${UNIT[flow]} | p50 ms | p99 ms | peak RSS MB | server CPU | PostgreSQL CPU | CPU per ${flow === 'full' ? 'flow' : 'request'} µs | load-gen CPU | Tessera SQLite ÷ this | Tessera PostgreSQL ÷ this | check |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of rows) {
    const loadWarn = r.loadCpu !== undefined && r.loadCpu > 90 ? ' ⚠' : '';
    lines.push(
      `| ${r.label} | ${r.valid ? num(r.rps) : `~~${num(r.rps)}~~`} | ${ms(r.p50)} | ${ms(r.p99)} | ${fmt(r.rss)} | ${fmt(r.serverCpu)}% | ${pct(r.postgresCpu)} | ${fmt(r.cpuPerRequestUs)} | ${fmt(r.loadCpu)}%${loadWarn} | ` +
        `${r.id === 'tessera-sqlite' ? '1.00×' : ratio(sqlite, r)} | ${r.id === 'tessera-postgres' ? '1.00×' : postgres ? ratio(postgres, r) : '–'} | ` +
        `${
          r.valid
            ? `ok (${r.runs} run${r.runs === 1 ? '' : 's'})`
            : `**INVALID**: ${String(r.problem ?? '')
                .replace(/\|/g, '/')
                .slice(0, 160)}`
        } |`,
    );
  }
  return lines.join('\n');
}

function ratioTable(flows) {
  const peers = [
    ['oidc-provider', 'node-oidc-provider'],
    ['oauth2-server-http', 'oauth2-server (node:http)'],
    ['oauth2-server-express', 'oauth2-server (Express)'],
    ['ceiling', 'ceiling'],
  ];
  const lines = [
    `| flow | Tessera on | ${peers.map(([, l]) => `÷ ${l}`).join(' | ')} |`,
    `| --- | --- | ${peers.map(() => '---:').join(' | ')} |`,
  ];
  for (const [flow, rows] of Object.entries(flows)) {
    for (const [id, engine] of [
      ['tessera-sqlite', 'SQLite'],
      ['tessera-postgres', 'PostgreSQL'],
    ]) {
      const t = find(rows, id);
      if (!t) continue;
      lines.push(`| ${flow} | ${engine} | ${peers.map(([p]) => ratio(t, find(rows, p))).join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

function targetsTable(results) {
  const f = results.flows;
  const t = (flow) => find(f[flow], 'tessera-sqlite');
  const p = (flow, id) => find(f[flow], id);
  const rows = [];
  const check = (name, measured, met) =>
    rows.push(`| ${name} | ${measured} | ${met === undefined ? '–' : met ? 'met' : '**missed**'} |`);
  for (const flow of ['code', 'refresh']) {
    const me = t(flow);
    if (!me) continue;
    const oidc = p(flow, 'oidc-provider');
    const o2 = p(flow, 'oauth2-server-http');
    const r1 = me.valid && oidc?.valid ? me.rps / oidc.rps : undefined;
    const r2 = me.valid && o2?.valid ? me.rps / o2.rps : undefined;
    check(
      `${flow}: ≥ 3× node-oidc-provider`,
      r1 === undefined ? '–' : `${r1.toFixed(2)}×`,
      r1 === undefined ? undefined : r1 >= 3,
    );
    check(
      `${flow}: ≥ 1.2× oauth2-server on node:http`,
      r2 === undefined ? '–' : `${r2.toFixed(2)}×`,
      r2 === undefined ? undefined : r2 >= 1.2,
    );
    check(
      `${flow}: p99 ≤ 10 ms at 32 connections`,
      me.valid ? `${ms(me.p99)} ms` : '–',
      me.valid ? me.p99 <= 10 : undefined,
    );
  }
  const introspect = t('introspect');
  if (introspect) {
    const oidc = p('introspect', 'oidc-provider');
    const r = introspect.valid && oidc?.valid ? introspect.rps / oidc.rps : undefined;
    check(
      'introspect: ≥ 1.5× node-oidc-provider',
      r === undefined ? '–' : `${r.toFixed(2)}×`,
      r === undefined ? undefined : r >= 1.5,
    );
  }
  for (const [engine, jwtId, opaqueId] of [
    ['SQLite', 'tessera-sqlite-jwt', 'tessera-sqlite'],
    ['PostgreSQL', 'tessera-postgres-jwt', 'tessera-postgres'],
  ]) {
    const jwt = p('code', jwtId);
    const opaque = p('code', opaqueId);
    if (!jwt || !opaque) continue;
    const r = jwt.valid && opaque.valid ? jwt.rps / opaque.rps : undefined;
    check(
      `code issuing a JWT (ES256), ${engine}: ≥ 80 % of the opaque code exchange`,
      r === undefined ? '–' : `${(r * 100).toFixed(0)} %`,
      r === undefined ? undefined : r >= 0.8,
    );
  }
  // Tessera on PostgreSQL, against cells of the same run; a side missing or invalid: `–`.
  const ratioCheck = (name, a, b, at) => {
    const r = a?.valid && b?.valid ? a.rps / b.rps : undefined;
    check(name, r === undefined ? '–' : `${r.toFixed(2)}×`, r === undefined ? undefined : r >= at);
  };
  for (const flow of ['code', 'refresh']) {
    if (!f[flow]) continue;
    const pgRow = p(flow, 'tessera-postgres');
    ratioCheck(`${flow} (PostgreSQL) ≥ 1.0× node-oidc-provider`, pgRow, p(flow, 'oidc-provider'), 1.0);
    ratioCheck(`${flow} (PostgreSQL) ≥ 0.5× Tessera on SQLite`, pgRow, t(flow), 0.5);
  }
  if (f.bearer)
    ratioCheck('bearer (PostgreSQL) ≥ 0.6× Tessera on SQLite', p('bearer', 'tessera-postgres'), t('bearer'), 0.6);
  if (f.code) {
    const pgCode = p('code', 'tessera-postgres');
    check(
      'code (PostgreSQL): p99 ≤ 50 ms at 32 connections',
      pgCode?.valid ? `${ms(pgCode.p99)} ms` : '–',
      pgCode?.valid ? pgCode.p99 <= 50 : undefined,
    );
  }
  const scaleOut = results.scaleOut;
  if (scaleOut && !scaleOut.skipped) {
    // Per flow, the 2-instance row's CPU per request over the 1-instance row's: met when every
    // flow is within 15 %, missed when one is not; `–` when a flow has no valid pair.
    const ratios = Object.entries(scaleOut.flows).map(([flow, { rows }]) => [
      flow,
      rows?.find((r) => r.instances === 2)?.cpuPerRequestVsOne,
    ]);
    const measured = ratios.filter(([, r]) => r !== undefined);
    check(
      'two instances on one PostgreSQL: per-request server CPU within 15 % of one instance',
      ratios.length
        ? ratios.map(([flow, r]) => `${flow} ${r === undefined ? '–' : `${r.toFixed(2)}×`}`).join(', ')
        : '–',
      measured.some(([, r]) => r > 1.15)
        ? false
        : ratios.length > 0 && measured.length === ratios.length
          ? true
          : undefined,
    );
  }
  const bearer = t('bearer');
  const ceiling = p('bearer', 'ceiling');
  if (bearer) {
    const r = bearer.valid && ceiling?.valid ? bearer.rps / ceiling.rps : undefined;
    check(
      'bearer: ≥ 50 % of the node:http ceiling',
      r === undefined ? '–' : `${(r * 100).toFixed(0)} %`,
      r === undefined ? undefined : r >= 0.5,
    );
  }
  const scale = results.scale;
  if (scale?.length >= 2) {
    const small = scale[0];
    const big = scale[scale.length - 1];
    for (const flow of ['bearer', 'code']) {
      const a = small.flows?.[flow];
      const b = big.flows?.[flow];
      const r = a?.valid && b?.valid ? b.rps / a.rps : undefined;
      check(
        `${flow} with ${big.size.toLocaleString('en-US')} live tokens ≥ 90 % of ${small.size.toLocaleString('en-US')}`,
        r === undefined ? '–' : `${(r * 100).toFixed(0)} %`,
        r === undefined ? undefined : r >= 0.9,
      );
    }
  }
  // The token and bearer flows; the full flow's RSS is dominated by scrypt's 32 MiB per
  // concurrent password check and is shown in its own table.
  const rss = ['code', 'refresh', 'bearer']
    .map((flow) => find(f[flow], 'tessera-sqlite'))
    .filter((r) => r?.rss !== undefined);
  if (rss.length) {
    const max = Math.max(...rss.map((r) => r.rss));
    check('RSS under load < 120 MB (highest of code, refresh, bearer)', `${max.toFixed(0)} MB`, max < 120);
  }
  if (results.startup?.fresh !== undefined) {
    const worst = Math.max(results.startup.fresh, results.startup.existing ?? 0);
    check('`serve` prints `listening on` in < 1 s', `${worst.toFixed(0)} ms`, worst < 1000);
  }
  return ['| target | measured | |', '| --- | ---: | --- |', ...rows].join('\n');
}

function scaleTable(scale) {
  const base = scale[0];
  const lines = [
    '| live tokens | seeding | database on disk | bearer req/s | bearer p99 ms | code req/s | code p99 ms | bearer vs first row | code vs first row |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of scale) {
    if (row.error) {
      lines.push(
        `| ${row.size.toLocaleString('en-US')} | **failed**: ${row.error.replace(/\|/g, '/').slice(0, 160)} | | | | | | | |`,
      );
      continue;
    }
    const b = row.flows.bearer;
    const c = row.flows.code;
    const vs = (flow) => {
      const x = row.flows[flow];
      const y = base.flows?.[flow];
      return x?.valid && y?.valid ? `${((x.rps / y.rps) * 100).toFixed(0)} %` : '–';
    };
    const cell = (x) => (x ? (x.valid ? num(x.rps) : `**INVALID** ${num(x.rps)}`) : '–');
    lines.push(
      `| ${row.size.toLocaleString('en-US')} | ${fmt(row.seedSeconds, 1)} s | ${fmt(row.dbMB, 0)} MB | ${cell(b)} | ${ms(b?.p99)} | ${cell(c)} | ${ms(c?.p99)} | ${vs('bearer')} | ${vs('code')} |`,
    );
  }
  return lines.join('\n');
}

function scaleOutTable(scaleOut) {
  const lines = [
    '| flow | instances | req/s | req/s per instance | p50 ms | p99 ms | CPU per instance | PostgreSQL CPU | nginx CPU | wrk CPU | server CPU per request µs | ÷ 1 instance | 200s logged by nginx / counted by wrk | check |',
    '| --- | ---: | ---: | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  const clean = (text) =>
    String(text ?? '')
      .replace(/\|/g, '/')
      .slice(0, 160);
  for (const [flow, { rows, error }] of Object.entries(scaleOut.flows)) {
    if (error) {
      lines.push(`| ${flow} | **failed**: ${clean(error)} | | | | | | | | | | | | |`);
      continue;
    }
    for (const r of rows) {
      const each = (key, unit) =>
        r.perInstance.map((i) => `${i.name} ${key === 'rps' ? num(i[key]) : fmt(i[key])}${unit}`).join(' · ');
      lines.push(
        `| ${flow} | ${r.instances} | ${r.valid ? num(r.rps) : `~~${num(r.rps)}~~`} | ${each('rps', '')} | ${ms(r.p50)} | ${ms(r.p99)} | ` +
          `${each('cpu', '%')} | ${pct(r.postgresCpu)} | ${pct(r.nginxCpu)} | ${pct(r.loadCpu)} | ${fmt(r.cpuPerRequestUs)} | ` +
          `${r.cpuPerRequestVsOne === undefined ? '–' : `${r.cpuPerRequestVsOne.toFixed(2)}×`} | ` +
          `${r.counted.toLocaleString('en-US')} / ${r.requests.toLocaleString('en-US')} | ` +
          `${r.valid ? `ok (${r.runs} run${r.runs === 1 ? '' : 's'})` : `**INVALID**: ${clean(r.problem)}`} |`,
      );
    }
  }
  return lines.join('\n');
}

export function writeReport(file, meta, results) {
  const m = meta.machine;
  const runs = meta.mode.runs === 1 ? 'one measured run' : `the median of ${meta.mode.runs} measured runs`;
  const scaleOutNote = meta.scaleOutOnly ? ' This run measured the scale-out section alone (`--scale-out-only`).' : '';
  const runsNote = meta.quick
    ? `**Quick smoke run**: ${runs} of ${meta.mode.duration} s per cell; each server is started once for all flows and warmed up for ${meta.mode.warmup} s before its first ` +
      `(full flow: ${meta.mode.full.runs} run of ${meta.mode.full.duration} s with ${meta.mode.full.connections} browsers instead of 32), so the numbers are short samples. ` +
      'It shows that the bench works end to end; use `npm run bench` on a quiet machine for numbers.'
    : `Each cell: a ${meta.mode.warmup} s warm-up, then the median of ${meta.mode.runs} measured runs of ${meta.mode.duration} s ` +
      `(full flow: ${meta.mode.full.warmup} s warm-up, median of ${meta.mode.full.runs} runs of ${meta.mode.full.duration} s after ${meta.mode.full.settle} s of settling).`;
  const out = [];
  out.push(`# Tessera benchmark${meta.quick ? ' (quick smoke run)' : ''}`);
  out.push('');
  out.push(
    `Generated by \`${meta.command}\` — do not edit by hand; rerun to regenerate. How it works: [README.md](README.md).`,
  );
  out.push('');
  out.push(runsNote + scaleOutNote);
  out.push('');
  out.push('## Setup');
  out.push('');
  out.push(`- Command: \`${meta.command}\``);
  out.push(`- Date: ${meta.started} (${meta.minutes.toFixed(1)} minutes)`);
  out.push(`- Machine: ${m.cores} cores, ${m.cpuModel}, ${m.memoryGB} GB RAM, ${m.kernel}`);
  out.push(`- Load average (1/5/15 min) before: ${m.loadBefore}; after: ${m.loadAfter}`);
  out.push(`- Node ${m.node}; load generators: ${m.wrk} (code, refresh, bearer), autocannon 8 (full flow)`);
  out.push(
    `- Tessera commit ${m.commit}${m.dirty ? ' with uncommitted changes in src/' : ''}; \`tessera serve\` with its defaults (SQLite WAL; every write synced to disk before it is answered), log level ${meta.logLevel}`,
  );
  out.push(
    `- Pinning: ${meta.pinning}; ${meta.connections} connections; ${meta.mode.freshPerFlow ? 'every server started fresh for each flow' : 'every server started once for all flows'}, on loopback`,
  );
  out.push(
    `- PostgreSQL: ${meta.postgres ? 'measured (a fresh database per server start)' : meta.scaleOutOnly ? 'scale-out section only' : 'not reachable, skipped'}`,
  );
  if (meta.scaleOut) {
    out.push(
      `- Scale-out: up to ${meta.scaleOut.instances} instances behind ${meta.scaleOut.nginx}; ${meta.scaleOut.pinning}`,
    );
  }
  out.push('');
  if (Object.keys(results.flows).length) {
    out.push('## Tessera ÷ peer (throughput ratios, medians)');
    out.push('');
    out.push('Above 1 means Tessera is faster. `–`: a side is missing or invalid.');
    out.push('');
    out.push(ratioTable(results.flows));
    out.push('');
  }
  if (
    results.flows.code ||
    results.flows.refresh ||
    results.flows.bearer ||
    Object.keys(results.scaleOut?.flows ?? {}).length
  ) {
    out.push('## Speed targets');
    out.push('');
    out.push(targetsTable(results));
    out.push('');
  }
  for (const [flow, rows] of Object.entries(results.flows)) {
    out.push(`## ${FLOW_TITLES[flow] ?? flow}`);
    out.push('');
    out.push(flowTable(flow, rows));
    out.push('');
  }
  if (Object.keys(results.flows).length) {
    out.push(
      "Columns: median throughput, median of the runs' p50 and p99 latency, the highest RSS of the server process seen while it was measured " +
        "(sampled every 100 ms), the server's and the load generator's CPU use (100 % = one core; ⚠ marks a load generator above 90 %, " +
        'whose number may then be a floor). PostgreSQL itself runs outside the pinning; for Tessera on PostgreSQL its CPU over the run ' +
        "(every `postgres` process, less the backends of other databases) is shown beside the server's, and CPU per request is " +
        '(server CPU s + PostgreSQL CPU s) ÷ requests (full flow: per flow); `–` for the others.',
    );
    out.push('');
  }
  if (results.scaleOut) {
    out.push('## Scale-out on PostgreSQL');
    out.push('');
    if (results.scaleOut.skipped) {
      out.push(`Skipped: ${results.scaleOut.skipped}.`);
    } else {
      out.push(
        `1 to ${results.scaleOut.instances.length} \`tessera serve\` instances on one PostgreSQL database behind nginx (round-robin), ` +
          'credentials issued by the seeder over the same database as for Tessera on PostgreSQL; each count measured in turn, interleaved. ' +
          'All instances share the server core (nginx and wrk the load core, PostgreSQL unpinned): on two cores the total cannot grow much, ' +
          'what this shows is whether the CPU per request stays flat as instances are added. ' +
          "req/s per instance: the 200s nginx logged per instance ÷ the run time. Server CPU per request: (the instances' CPU s + PostgreSQL's CPU s) ÷ requests; " +
          "÷ 1 instance: that over the 1-instance row's. nginx may log up to one answer per connection more than wrk counted (answers wrk no longer read when it stopped).",
      );
      out.push('');
      out.push(scaleOutTable(results.scaleOut));
    }
    out.push('');
  }
  if (results.scale) {
    out.push('## Tessera on SQLite with more data');
    out.push('');
    out.push(
      'The same server and flows with N live access tokens in the database (each with its own grant), seeded through `Store.createGrantWithAccessToken` before the server starts.' +
        (meta.quick ? ' The quick run uses small sizes; the full run uses 1 000 and 1 000 000.' : ''),
    );
    out.push('');
    out.push(scaleTable(results.scale));
    out.push('');
  }
  if (results.startup) {
    const s = results.startup;
    out.push('## `tessera serve` start-up');
    out.push('');
    out.push(
      'Time from spawning `node dist/cli/main.js serve --port 0` (pinned to the server core) to its `listening on` line, median.',
    );
    out.push('');
    out.push('| database | median | all runs (ms) |');
    out.push('| --- | ---: | --- |');
    out.push(
      `| fresh SQLite file (migrations applied) | ${fmt(s.fresh)} ms | ${s.freshAll.map((v) => v.toFixed(0)).join(', ')} |`,
    );
    out.push(`| existing SQLite file | ${fmt(s.existing)} ms | ${s.existingAll.map((v) => v.toFixed(0)).join(', ')} |`);
    out.push('');
  }
  writeFileSync(file, out.join('\n'));
}
