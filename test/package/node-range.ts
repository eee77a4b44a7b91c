/**
 * Just enough of npm's semver range grammar to read the `engines.node` fields of
 * package-lock.json (`>=20.19`, `^20.19.0 || >=22.12.0`, `18 || 20 || >=22`, `10.x`,
 * `>= 0.8`, `1.2.3 - 2.3.4`, `*`), with no dependency: whether a Node version is in a
 * range, and the lowest version a range admits. A range it cannot read is an error,
 * never a pass.
 */

type Version = [number, number, number];

/** A comparator or a conjunction of them, as the half-open interval [lo, hi). */
interface Interval {
  lo: Version;
  hi: Version | undefined;
}

const ANY: Interval = { lo: [0, 0, 0], hi: undefined };

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export function parseVersion(text: string): Version {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`not a version: '${text}'`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** `X`, `X.Y`, `X.Y.Z`, with `x`, `X` or `*` for a part: the numbers given before the first wildcard. */
function partial(text: string, range: string): number[] {
  const parts = text.replace(/^v/, '').split('.');
  if (parts.length > 3) throw new Error(`cannot read the range '${range}'`);
  const numbers: number[] = [];
  for (const part of parts) {
    if (/^[xX*]$/.test(part)) break;
    if (!/^\d+$/.test(part)) throw new Error(`cannot read the range '${range}'`);
    numbers.push(Number(part));
  }
  return numbers;
}

function floor(p: number[]): Version {
  return [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0];
}

/** The first version after everything that starts with `p` (`1.2` → 1.3.0); undefined for `*`. */
function ceiling(p: number[]): Version | undefined {
  if (p.length === 0) return undefined;
  if (p.length === 1) return [(p[0] as number) + 1, 0, 0];
  if (p.length === 2) return [p[0] as number, (p[1] as number) + 1, 0];
  return [p[0] as number, p[1] as number, (p[2] as number) + 1];
}

function comparator(token: string, range: string): Interval {
  const m = /^(>=|<=|>|<|=|\^|~)?(.*)$/.exec(token) as RegExpExecArray;
  const op = m[1] ?? '';
  const p = partial(m[2] as string, range);
  switch (op) {
    case '':
    case '=':
      return { lo: floor(p), hi: ceiling(p) };
    case '>=':
      return { lo: floor(p), hi: undefined };
    case '>':
      return p.length === 0 ? { lo: [Infinity, 0, 0], hi: undefined } : { lo: ceiling(p) as Version, hi: undefined };
    case '<':
      return { lo: [0, 0, 0], hi: floor(p) };
    case '<=':
      return { lo: [0, 0, 0], hi: ceiling(p) };
    case '~':
      return { lo: floor(p), hi: ceiling(p.slice(0, Math.min(p.length, 2))) };
    case '^': {
      // The first non-zero part given may not change (npm's caret rule).
      const fixed = p.findIndex((n) => n !== 0);
      const keep = fixed === -1 ? p.length : fixed + 1;
      return { lo: floor(p), hi: ceiling(p.slice(0, keep)) };
    }
    default:
      throw new Error(`cannot read the range '${range}'`);
  }
}

function intersect(a: Interval, b: Interval): Interval {
  const lo = compare(a.lo, b.lo) >= 0 ? a.lo : b.lo;
  const hi = a.hi === undefined ? b.hi : b.hi === undefined ? a.hi : compare(a.hi, b.hi) <= 0 ? a.hi : b.hi;
  return { lo, hi };
}

/** The range as a union of intervals, one per `||` alternative. */
function intervals(range: string): Interval[] {
  return range.split('||').map((alternative) => {
    const text = alternative.trim();
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
    if (hyphen) {
      return { lo: floor(partial(hyphen[1] as string, range)), hi: ceiling(partial(hyphen[2] as string, range)) };
    }
    const tokens = text
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .filter((t) => t !== '');
    return tokens.map((t) => comparator(t, range)).reduce(intersect, ANY);
  });
}

function inside(v: Version, i: Interval): boolean {
  return compare(v, i.lo) >= 0 && (i.hi === undefined || compare(v, i.hi) < 0);
}

/** Whether the Node version (`20.19.0`, `v22.1.0`) is in the range. */
export function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  return intervals(range).some((i) => inside(v, i));
}

/** The lowest version the range admits (`>=20.19` → `20.19.0`). */
export function lowestVersion(range: string): string {
  const lows = intervals(range)
    .filter((i) => i.hi === undefined || compare(i.lo, i.hi) < 0)
    .map((i) => i.lo)
    .sort(compare);
  const low = lows[0];
  if (low === undefined || !Number.isFinite(low[0])) throw new Error(`the range '${range}' admits no version`);
  return low.join('.');
}
