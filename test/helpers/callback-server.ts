/**
 * A client's redirect URI for black-box tests: a tiny node:http server on a free loopback
 * port that records every request and answers 200 "ok", so a browser really lands on the
 * client (a fragment never reaches it: read the page URL for the implicit grant).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CallbackServer {
  /** `http://127.0.0.1:PORT/cb`, the registered redirect URI. */
  redirectUri: string;
  origin: string;
  /**
   * Every request it received, as absolute URLs (a fragment never reaches a server), but
   * `/favicon.ico`, which a browser asks for by itself whenever it likes after landing.
   */
  hits: URL[];
  close: () => Promise<void>;
}

export async function startCallbackServer(): Promise<CallbackServer> {
  const hits: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/favicon.ico') {
      res.writeHead(404, { connection: 'close' }).end();
      return;
    }
    hits.push(url);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
    res.end('ok');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    redirectUri: `${origin}/cb`,
    origin,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
