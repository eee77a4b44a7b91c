/**
 * The README's shell blocks, as the README test runs them. The convention (written down
 * in the README's Development section):
 *
 * - a fenced block with the info string `sh` is run, in the order of the file, in one
 *   bash session (so a variable set in one block is there in the next);
 * - any other fence (`text`, `json`, `js`, `ini`, …) is not run; `bash`, `shell`, `zsh`
 *   and `console` are refused, so that a command meant to run is never silently skipped;
 * - an HTML comment on the line before the fence changes how an `sh` block runs:
 *   `<!-- readme-test: skip -->` not at all (installing, a production machine);
 *   `<!-- readme-test: background -->` beside the others (a server): the next block
 *   starts once it has printed its first line on stdout, and it is stopped at the end;
 *   `<!-- readme-test: browser USERNAME PASSWORD -->` while it runs, a browser opens the
 *   last URL printed before it, signs in as USERNAME and allows.
 */

export type BlockMode =
  { kind: 'run' } | { kind: 'skip' } | { kind: 'background' } | { kind: 'browser'; username: string; password: string };

export interface ShellBlock {
  /** The 1-based line of the opening fence, for messages. */
  line: number;
  /** The block's text, without the fences and the fence's indentation. */
  text: string;
  mode: BlockMode;
}

const FENCE = /^( *)(`{3,}|~{3,})[ \t]*([^\s`]*)[^`]*$/;
const MARKER = /^ *<!--\s*readme-test:\s*(.*?)\s*-->\s*$/;
const REFUSED = new Set(['bash', 'shell', 'zsh', 'console', 'shell-session']);

function parseMarker(text: string, line: number): BlockMode {
  const [kind, ...args] = text.split(/\s+/);
  if (kind === 'skip' && args.length === 0) return { kind: 'skip' };
  if (kind === 'background' && args.length === 0) return { kind: 'background' };
  if (kind === 'browser' && args.length === 2) {
    return { kind: 'browser', username: args[0] as string, password: args[1] as string };
  }
  throw new Error(
    `README line ${line}: unknown marker 'readme-test: ${text}' (skip, background, or browser USERNAME PASSWORD)`,
  );
}

/** Every `sh` block of the Markdown text, in order, with how it is to be run. */
export function readmeShellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split('\n');
  const blocks: ShellBlock[] = [];
  let pending: { mode: BlockMode; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const current = lines[i] as string;
    const marker = MARKER.exec(current);
    if (marker) {
      if (pending) throw new Error(`README line ${pending.line}: a readme-test marker is not followed by a fence`);
      pending = { mode: parseMarker(marker[1] as string, i + 1), line: i + 1 };
      continue;
    }
    const fence = FENCE.exec(current);
    if (!fence) {
      if (pending && current.trim() !== '') {
        throw new Error(`README line ${pending.line}: a readme-test marker must be on the line before a fence`);
      }
      continue;
    }
    const [, indent = '', ticks = '', info = ''] = fence;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const inner = lines[j] as string;
      if (inner.trimStart().startsWith(ticks) && inner.trim() === inner.trim().replace(/[^`~]/g, '')) break;
      body.push(inner.startsWith(indent) ? inner.slice(indent.length) : inner.trimStart());
    }
    if (j === lines.length) throw new Error(`README line ${i + 1}: a fence is never closed`);
    const language = info.toLowerCase();
    if (REFUSED.has(language)) {
      throw new Error(
        `README line ${i + 1}: use \`\`\`sh for commands (the README test runs them) or \`\`\`text for output, not \`\`\`${info}`,
      );
    }
    if (language === 'sh') {
      blocks.push({ line: i + 1, text: body.join('\n'), mode: pending?.mode ?? { kind: 'run' } });
    } else if (pending) {
      throw new Error(`README line ${pending.line}: a readme-test marker applies to \`\`\`sh blocks only`);
    }
    pending = undefined;
    i = j;
  }
  if (pending) throw new Error(`README line ${pending.line}: a readme-test marker is not followed by a fence`);
  return blocks;
}
