// What the privileged parent and the unprivileged resolver process say to each other: one JSON
// object per line on the child's fd 3. The parent sends raw DNS answers off its ring buffer and
// what the child needs to reach the API server; the child sends back compact facts, which the
// parent checks field by field (./resolver-facts.ts) before it uses any of them.
import type { KubeIdentity } from '../resolve/kubernetes/kube-index.js';
import type { KubeWatcherOptions } from '../resolve/kubernetes/kube-watcher.js';
import type { ReverseDnsOptions } from '../resolve/dns/reverse-dns.js';

/** Longest line either side accepts; a longer one is dropped whole. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** Ring buffer records per `dns` message (each at most 8 + 512 bytes). */
export const MAX_DNS_RECORDS = 256;
/** Addresses one DNS answer can name: dns.bpf.c copies at most 512 bytes, and an A record takes 16. */
export const MAX_NAMES_PER_ANSWER = 32;
/** Names per `dns` answer. */
export const MAX_DNS_NAMES = MAX_DNS_RECORDS * MAX_NAMES_PER_ANSWER;
/** Entries (set + remove) per `kube` message. */
export const MAX_KUBE_ENTRIES = 2000;
/** Addresses the parent keeps Kubernetes facts for. */
export const MAX_KUBE_FACTS = 200_000;
/** Reverse lookups waiting for the child at once. */
export const MAX_REVERSE_PENDING = 256;
/** Longest log line from the child. */
export const MAX_LOG_CHARS = 500;

/** A kubeconfig with every file it names read in (the child cannot read them as its user). */
export interface PortableKubeConfig {
  clusters: { name: string; server: string; caData?: string; skipTLSVerify: boolean; tlsServerName?: string }[];
  users: { name: string; token?: string; certData?: string; keyData?: string; username?: string; password?: string }[];
  contexts: { name: string; cluster: string; user: string; namespace?: string }[];
  currentContext: string;
}

export type ToResolver =
  | { type: 'init'; kube?: { config: PortableKubeConfig; options: Omit<KubeWatcherOptions, 'log'> }; reverse?: Omit<ReverseDnsOptions, 'auto'> }
  /** Ring buffer records (struct dns_event), base64. */
  | { type: 'dns'; records: string[] }
  | { type: 'reverse'; id: number; ip: string }
  /** The service account token changed on disk (it is rotated): the user's new bearer token. */
  | { type: 'token'; user: string; token: string };

export type FromResolver =
  /** Running as its user, with nothing but fd 3: the parent may now describe its privileges. */
  | { type: 'ready' }
  /** The answer to one `dns` message: its names, and how many records parsed or did not. */
  | { type: 'dns'; names: { ip: string; name: string; ttl: number }[]; answers: number; malformed: number; lastError?: string }
  /**
   * Kubernetes facts by address. `reset` starts a whole new set (sent in chunks, the last with
   * `last`), which replaces the parent's once complete; otherwise the entries change the set in use.
   */
  | { type: 'kube'; reset: boolean; last: boolean; set: [string, KubeIdentity][]; remove: string[] }
  | { type: 'reverse'; id: number; name?: string }
  | { type: 'log'; line: string };
