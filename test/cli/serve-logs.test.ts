/**
 * What `tessera serve` writes to stderr: JSON lines when stderr is not a terminal (here a
 * pipe), readable lines with --log-format pretty, and at --log-level debug what the
 * README says debug adds: every sweep with its counts, WAL checkpoints and signing-key
 * reads.
 */
import { describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { startServer } from '../helpers/server-process.js';

describe('serve log output', () => {
  it('writes JSON lines to a pipe by default', async () => {
    const server = await startServer({ logLevel: 'info' });
    try {
      await fetch(`${server.baseUrl}/healthz`);
      await vi.waitFor(() => expect(server.stderr()).toContain('"msg":"request"'), { timeout: 5000 });
      const lines = server
        .stderr()
        .trimEnd()
        .split('\n')
        .filter((l) => l.startsWith('{'));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    } finally {
      await server.stop();
    }
  });

  it('writes readable lines, without colour off a terminal, with --log-format pretty', async () => {
    const server = await startServer({ logLevel: 'info', args: ['--log-format', 'pretty'] });
    try {
      await fetch(`${server.baseUrl}/healthz`);
      await vi.waitFor(
        () => expect(server.stderr()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}request .*route=\/healthz status=200/m),
        {
          timeout: 5000,
        },
      );
      expect(server.stderr()).not.toContain('\u001b');
      expect(server.stderr()).not.toMatch(/^\{/m);
    } finally {
      await server.stop();
    }
  });

  it('shows every sweep, WAL checkpoints and signing-key reads at --log-level debug', async () => {
    const server = await startServer({ logLevel: 'debug', args: ['--sweep-interval', '1'] });
    try {
      await vi.waitFor(
        () => {
          const log = server.stderr();
          // A sweep that found nothing is logged too.
          expect(log).toMatch(/"level":20,.*"purged":\{[^}]*\},"total":0,"ms":\d+,"msg":"swept expired data"/);
          expect(log).toMatch(/"level":20,.*"frames":\d+,"copied":\d+,.*"msg":"WAL checkpoint"/);
          expect(log).toMatch(
            /"level":20,.*"use":"access","kid":"[^"]+","alg":"ES256","changed":false,"msg":"signing key read again"/,
          );
        },
        { timeout: 10_000, interval: 200 },
      );
    } finally {
      await server.stop();
    }
  });

  it('shows none of them at the default level', async () => {
    const server = await startServer({ logLevel: 'info', args: ['--sweep-interval', '1'] });
    try {
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(server.stderr()).not.toMatch(/swept expired data|WAL checkpoint|signing key read/);
    } finally {
      await server.stop();
    }
  });

  it('refuses an unknown --log-format with one line and exit 2', async () => {
    const r = await runCli(['serve', '--log-format', 'xml']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^tessera: option '--log-format <format>' argument 'xml' is invalid/);
  });
});
