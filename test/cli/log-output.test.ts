/**
 * How `serve` writes its log: the choice between JSON and readable lines, and the
 * readable line itself (levels, fields, an error's stack, control characters escaped).
 */
import { describe, expect, it } from 'vitest';
import { chooseLogFormat, prettyLine } from '../../src/cli/log-output.js';

describe('chooseLogFormat', () => {
  it.each([
    [undefined, true, 'pretty'],
    [undefined, false, 'json'],
    ['json', true, 'json'],
    ['json', false, 'json'],
    ['pretty', false, 'pretty'],
    ['pretty', true, 'pretty'],
  ] as const)('--log-format %s with a terminal: %s → %s', (requested, terminal, expected) => {
    expect(chooseLogFormat(requested, terminal)).toBe(expected);
  });
});

describe('prettyLine', () => {
  const at = new Date(2026, 0, 2, 3, 4, 5, 67).getTime();

  it('writes the time, the level, the message, then the fields as key=value', () => {
    const line = JSON.stringify({
      level: 30,
      time: at,
      event: 'signed_in',
      username: 'alice',
      client: 'c1',
      ip: '203.0.113.7',
      msg: 'signed in',
    });
    expect(prettyLine(line, false)).toBe(
      '03:04:05.067 INFO  signed in event=signed_in username=alice client=c1 ip=203.0.113.7\n',
    );
  });

  it('quotes values with spaces, writes objects, arrays and null as JSON', () => {
    const line = JSON.stringify({
      level: 20,
      time: at,
      msg: 'swept expired data',
      purged: { grants: 2 },
      who: 'a b',
      x: null,
    });
    expect(prettyLine(line, false)).toBe(
      '03:04:05.067 DEBUG swept expired data purged={"grants":2} who="a b" x=null\n',
    );
  });

  it("puts an error's stack on the lines below", () => {
    const line = JSON.stringify({
      level: 50,
      time: at,
      msg: 'request failed',
      err: { message: 'boom', stack: 'Error: boom\n    at f (x.js:1:1)' },
    });
    expect(prettyLine(line, false)).toBe(
      '03:04:05.067 ERROR request failed\n    Error: boom\n        at f (x.js:1:1)\n',
    );
  });

  it('colours the level and field names only when asked', () => {
    const line = JSON.stringify({ level: 40, time: at, msg: 'grant revoked', grant: 'g1' });
    expect(prettyLine(line, true)).toBe(
      '03:04:05.067 \u001b[33mWARN \u001b[0m grant revoked \u001b[2mgrant=\u001b[0mg1\n',
    );
    expect(prettyLine(line, false)).not.toContain('\u001b');
  });

  it('escapes control characters, so a logged value cannot drive the terminal', () => {
    const line = JSON.stringify({
      level: 30,
      time: at,
      msg: 'x\u001b[2Jy',
      name: 'a\u001b]0;owned\u0007b',
      raw: 'new\nline',
    });
    const out = prettyLine(line, false);
    expect(out).not.toContain('\u001b');
    expect(out).not.toContain('\u0007');
    expect(out.trimEnd().split('\n')).toHaveLength(1);
    expect(out).toContain('x\\u001b[2Jy');
  });

  it('passes a line that is not JSON through, escaped', () => {
    expect(prettyLine('not json\u001b\n', false)).toBe('not json\\u001b\n');
  });
});
