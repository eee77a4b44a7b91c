/**
 * What the node:http server allows one connection and one client address, so that slow
 * or greedy clients cannot hold the server:
 *
 * - timeouts (`serverTimeouts`): the request line and headers must arrive within the
 *   header timeout and the whole request within the request timeout, counted from its
 *   first byte (from the connection for the first request), so a "slowloris" trickling
 *   bytes, or a connection that sends nothing, is answered 408 and closed;
 * - a cap on open connections per client address (`capConnections`), and in all.
 *
 * A connection's address is the TCP peer's: behind a reverse proxy that is the proxy, so
 * connections from trusted proxies (--trust-proxy) are not capped per address (the proxy
 * limits its own clients; the total cap still holds). An IPv6 address counts by its /64.
 */
import type { Server, ServerOptions } from 'node:http';
import { BlockList, isIP, type Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { Limits, TrustProxy } from '../config.js';
import { addressKey } from './rate-limit.js';

/**
 * The Fastify options that set node:http's timeouts. Node checks them every
 * `connectionsCheckingInterval` (30 s by default, which would let a slowloris live 30 s
 * past its deadline): here at most a second, a fraction of the header timeout.
 */
export function serverTimeouts(limits: Pick<Limits, 'headerTimeout' | 'requestTimeout'>): {
  requestTimeout: number;
  http: ServerOptions;
} {
  const headersTimeout = limits.headerTimeout * 1000;
  const requestTimeout = limits.requestTimeout * 1000;
  return {
    // Fastify sets the server's requestTimeout from its own option after creating it.
    requestTimeout,
    http: {
      headersTimeout,
      requestTimeout,
      connectionsCheckingInterval: Math.min(1000, Math.ceil(headersTimeout / 4)),
    },
  };
}

/** proxy-addr's named ranges, as --trust-proxy accepts them (config.ts). */
const NAMED_RANGES: Record<string, Array<[string, number, 'ipv4' | 'ipv6']>> = {
  loopback: [
    ['127.0.0.0', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ],
  linklocal: [
    ['169.254.0.0', 16, 'ipv4'],
    ['fe80::', 10, 'ipv6'],
  ],
  uniquelocal: [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
    ['fc00::', 7, 'ipv6'],
  ],
};

/**
 * Whether a TCP peer is a trusted proxy, as Fastify decides for the nearest hop: `true`
 * and a hop count trust every peer; a list trusts its addresses and ranges (an IPv4 entry
 * also matches the IPv4-mapped IPv6 form).
 */
export function trustedPeer(trust: TrustProxy | undefined): (address: string) => boolean {
  if (trust === true || (typeof trust === 'number' && trust > 0)) return () => true;
  if (!Array.isArray(trust) || trust.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of trust) {
    const named = NAMED_RANGES[entry.toLowerCase()];
    if (named) {
      for (const [network, prefix, family] of named) list.addSubnet(network, prefix, family);
      continue;
    }
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}

export interface ConnectionCapOptions {
  /** Open connections per client address; 0: no cap. */
  perAddress: number;
  /** Open connections in all; 0: no cap. */
  total: number;
  trustProxy?: TrustProxy;
  log: FastifyBaseLogger;
}

/**
 * Caps the server's open connections. When an address is at its cap, a new connection
 * from it first closes one of its idle keep-alive connections (one that finished its
 * requests and waits for the next: a browser opens a new one without a fuss); only when
 * all are busy or still sending their first request is the new connection closed at
 * once. So many people behind one NAT address are not refused for connections their
 * browsers merely keep open.
 */
export function capConnections(server: Server, options: ConnectionCapOptions): void {
  if (options.total > 0) {
    server.maxConnections = options.total;
    let dropping = false;
    server.on('drop', () => {
      if (dropping) return;
      dropping = true;
      options.log.warn(
        { event: 'connection_refused', max: options.total },
        'too many open connections: refusing new ones',
      );
    });
    server.on('connection', () => (dropping = false));
  }
  if (options.perAddress <= 0) return;

  const trusted = trustedPeer(options.trustProxy);
  const open = new Map<string, { sockets: Set<Socket>; refusing: boolean }>();
  /** Requests in progress per socket; a socket that has had one and has none now is idle. */
  const inFlight = new WeakMap<Socket, number>();

  // Before Fastify's listener, so that the count is up before any answer can finish.
  server.prependListener('request', (request, response) => {
    const socket = request.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    response.once('close', () => inFlight.set(socket, Math.max(0, (inFlight.get(socket) ?? 1) - 1)));
  });

  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined || trusted(address)) return;
    const key = addressKey(address);
    let entry = open.get(key);
    if (!entry) {
      entry = { sockets: new Set(), refusing: false };
      open.set(key, entry);
    }
    const { sockets } = entry;
    if (sockets.size >= options.perAddress) {
      const idle = [...sockets].find((s) => inFlight.get(s) === 0);
      if (idle) {
        sockets.delete(idle);
        idle.destroy();
      } else {
        if (!entry.refusing) {
          entry.refusing = true;
          options.log.warn(
            { event: 'connection_refused', ip: address, max: options.perAddress },
            'too many open connections from one address: refusing new ones',
          );
        }
        socket.destroy();
        return;
      }
    }
    entry.refusing = false;
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0 && open.get(key)?.sockets === sockets) open.delete(key);
    });
  });
}
