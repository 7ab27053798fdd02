// What the tables ask the resolvers. resolve() answers from caches at once and never blocks the
// data path: anything not known yet is looked up in the background and shows on a later call.
import type { Endpoint } from '../../protocol/index.js';

/** What the kernel told us about one end of a connection or flow. */
export interface EndpointFacts {
  ip: string;
  port?: number;
  /** Inode of the socket's network namespace (0/absent when not known, e.g. a remote end). */
  netnsInode?: number;
  pid?: number;
  /** comm as the kernel saw it at the time. */
  comm?: string;
  cgroupId?: number;
}

export interface Resolver {
  resolve(facts: EndpointFacts): Endpoint;
  /** Original destination (before DNAT) of a connection, when conntrack knows it. */
  originalDestination?(clientIp: string, clientPort: number, serverIp: string, serverPort: number, protocol: 'tcp' | 'udp'): { ip: string; port: number } | undefined;
  /**
   * Addresses clients dialled (e.g. a service VIP) that conntrack translated to this server address,
   * over the connections it knows now; for tables that aggregate many client ports into one link.
   */
  natOrigins?(serverIp: string, serverPort: number, protocol: 'tcp' | 'udp'): { ip: string; port: number }[];
  /** The address is on this host (in any namespace, as of the last scan) or loopback. */
  isLocal?(ip: string): boolean;
  close(): void;
}
