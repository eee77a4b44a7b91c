/**
 * A tiny TCP proxy for outage tests: listens on a free loopback port and forwards every
 * connection to a target (PostgreSQL). `cut()` resets every open connection and stops
 * listening, so new connections are refused (ECONNREFUSED), as by a database server that
 * is down; `restore()` listens again on the same port and forwards again.
 */
import { createServer, Socket } from 'node:net';

export interface TcpProxy {
  /** The loopback port the proxy listens on (the same after restore()). */
  readonly port: number;
  /** Connections currently open through the proxy (both sides counted). */
  readonly open: number;
  /** Whether the proxy is cut. */
  readonly isCut: boolean;
  /** Resets all connections and refuses new ones until restore(). */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let isCut = false;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  const server = createServer((client) => {
    track(client);
    if (isCut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = new Socket();
    track(upstream);
    upstream.connect(target.port, target.host);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  const resetAll = () => {
    for (const socket of sockets) socket.resetAndDestroy();
  };

  await listen(0);
  const port = (server.address() as { port: number }).port;

  return {
    port,
    get open() {
      return sockets.size;
    },
    get isCut() {
      return isCut;
    },
    async cut() {
      isCut = true;
      const closed = stopListening();
      resetAll();
      await closed;
    },
    async restore() {
      if (!server.listening) await listen(port);
      isCut = false;
    },
    async close() {
      isCut = true;
      const closed = stopListening();
      resetAll();
      await closed;
    },
  };
}
