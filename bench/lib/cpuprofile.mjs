// Reading V8 .cpuprofile files (node --cpu-prof): self time per function and per package
// or Tessera module, for profile.mjs's summary and ab.mjs's side-by-side comparison.

/**
 * Self time (µs) per function ("name\twhere") and per package or module, and the busy and
 * idle totals. Self time comes from the samples and their time deltas (more exact than
 * hitCount).
 */
export function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const interval = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const dt = profile.timeDeltas[i + 1] ?? 0;
    interval.set(id, (interval.get(id) ?? 0) + dt);
  }
  let busy = 0;
  let idle = 0;
  const functions = new Map();
  for (const [id, us] of interval) {
    const f = byId.get(id).callFrame;
    if (f.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'}\t${where}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  }
  const groups = new Map();
  for (const [key, us] of functions) {
    const [name, where] = key.split('\t');
    const group = groupOf(name, where);
    groups.set(group, (groups.get(group) ?? 0) + us);
  }
  return { busy, idle, functions, groups };
}

/** The functions with the most self time, and the time per package or module, as Markdown. */
export function summarise(profile, top = 25) {
  const { busy, idle, functions, groups } = selfTimes(profile);
  const pct = (us) => `${((us / busy) * 100).toFixed(1)} %`;
  const lines = [];
  lines.push(`busy ${(busy / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s`);
  lines.push('');
  lines.push('| self time | function | where |');
  lines.push('| ---: | --- | --- |');
  for (const [key, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const [name, where] = key.split('\t');
    lines.push(`| ${pct(us)} | \`${name}\` | ${where} |`);
  }
  lines.push('');
  lines.push('| self time | package or module |');
  lines.push('| ---: | --- |');
  for (const [group, us] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 20))
    lines.push(`| ${pct(us)} | ${group} |`);
  return lines.join('\n');
}

/** A script's URL as a package path (`fastify/lib/…`) or, for Tessera's own, `dist/…` of whichever checkout. */
function shortUrl(url) {
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  const dist = u.lastIndexOf('/dist/');
  if (dist >= 0) return u.slice(dist + 1);
  return u;
}

function groupOf(name, where) {
  if (!where) return name.startsWith('(') ? name : '(native / V8 builtins)';
  if (where.startsWith('node:')) return 'node: internals';
  if (where.startsWith('dist/')) return where.split(':')[0];
  const parts = where.split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}
