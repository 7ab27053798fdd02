// Links as Caretta's `caretta_links_observed` series, so Caretta's dashboards and alerts work on
// Weft unchanged. Ids are FNV-1a hashes of name + namespace, as Caretta computes them.
import type { Endpoint, LinkRecord } from '../../protocol/index.js';

export const CARETTA_LABELS = ['client_id', 'client_kind', 'client_name', 'client_namespace', 'link_id', 'role', 'server_id', 'server_kind', 'server_name', 'server_namespace', 'server_port'] as const;
export type CarettaLabels = Record<(typeof CARETTA_LABELS)[number], string>;

/** Caretta's roles: 1 = seen from the client's side, 2 = from the server's. */
const CLIENT_ROLE = 1;
const SERVER_ROLE = 2;

export function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(s, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function displayName(e: Endpoint): string {
  return e.name ?? e.workload ?? e.pod ?? e.process ?? e.dns ?? e.ip;
}

/** Caretta's label set for a link, and its value: bytes moved both ways. */
export function carettaSeries(r: LinkRecord): { labels: CarettaLabels; value: number } {
  const cName = displayName(r.client);
  const cNs = r.client.namespace ?? '';
  const sName = displayName(r.server);
  const sNs = r.server.namespace ?? '';
  // A link whose client runs here was seen from the client side; otherwise from the server's.
  const role = r.client.pid !== undefined ? CLIENT_ROLE : SERVER_ROLE;
  return {
    labels: {
      // Caretta adds the role to the hash in uint32 arithmetic.
      link_id: String((fnv32a(cName + cNs + sName + sNs) + role) >>> 0),
      client_id: String(fnv32a(cName + cNs)),
      client_name: cName,
      client_namespace: cNs,
      client_kind: r.client.kind ?? 'unknown',
      server_id: String(fnv32a(sName + sNs)),
      server_name: sName,
      server_namespace: sNs,
      server_kind: r.server.kind ?? 'unknown',
      server_port: String(r.server.port ?? 0),
      role: String(role),
    },
    value: r.bytesSent + r.bytesReceived,
  };
}
