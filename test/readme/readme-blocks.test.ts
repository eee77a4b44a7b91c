/** The README test's convention: which fenced blocks run, and how the markers change that. */
import { describe, expect, it } from 'vitest';
import { readmeShellBlocks } from './readme-blocks.js';

const fence = '```';

describe('readmeShellBlocks', () => {
  it('takes sh blocks in order and leaves every other fence out', () => {
    const md = [
      `${fence}sh`,
      'echo one',
      fence,
      `${fence}text`,
      'not a command',
      fence,
      `${fence}json`,
      '{}',
      fence,
      '',
      `${fence}sh`,
      'echo two',
      'echo three',
      fence,
    ].join('\n');
    expect(readmeShellBlocks(md)).toEqual([
      { line: 1, text: 'echo one', mode: { kind: 'run' } },
      { line: 11, text: 'echo two\necho three', mode: { kind: 'run' } },
    ]);
  });

  it('reads the marker before a fence, across a blank line, and keeps a list item indented block whole', () => {
    const md = [
      '<!-- readme-test: skip -->',
      '',
      `${fence}sh`,
      'npm ci',
      fence,
      '<!-- readme-test: background -->',
      `${fence}sh`,
      'npx tessera serve',
      fence,
      '<!--readme-test:   browser robin s3cret-->',
      `${fence}sh`,
      'CODE=$(npx tessera callback)',
      fence,
      '1. Export:',
      '',
      '   <!-- readme-test: skip -->',
      '',
      `   ${fence}sh`,
      '   npx tessera export \\',
      '     --output x.json',
      `   ${fence}`,
      `${fence}sh`,
      'echo after',
      fence,
    ].join('\n');
    expect(readmeShellBlocks(md).map((b) => [b.mode, b.text])).toEqual([
      [{ kind: 'skip' }, 'npm ci'],
      [{ kind: 'background' }, 'npx tessera serve'],
      [{ kind: 'browser', username: 'robin', password: 's3cret' }, 'CODE=$(npx tessera callback)'],
      [{ kind: 'skip' }, 'npx tessera export \\\n  --output x.json'],
      [{ kind: 'run' }, 'echo after'],
    ]);
  });

  it('does not end a block at a shorter fence inside a longer one', () => {
    const md = ['````sh', 'cat <<EOF', fence, 'EOF', '````'].join('\n');
    expect(readmeShellBlocks(md)[0]?.text).toBe(`cat <<EOF\n${fence}\nEOF`);
  });

  it.each([
    [[`${fence}bash`, 'ls', fence], /use ```sh/],
    [[`${fence}console`, '$ ls', fence], /use ```sh/],
    [['<!-- readme-test: skipp -->', `${fence}sh`, 'ls', fence], /unknown marker/],
    [['<!-- readme-test: browser robin -->', `${fence}sh`, 'ls', fence], /unknown marker/],
    [['<!-- readme-test: skip -->', 'a paragraph', `${fence}sh`, 'ls', fence], /line before a fence/],
    [['<!-- readme-test: skip -->', `${fence}text`, 'ls', fence], /sh blocks only/],
    [['<!-- readme-test: skip -->'], /not followed by a fence/],
    [[`${fence}sh`, 'ls'], /never closed/],
  ])('refuses what would leave a command out silently: %j', (lines, message) => {
    expect(() => readmeShellBlocks(lines.join('\n'))).toThrow(message);
  });
});
