// The parent's check of every line the resolver process sends. That process parses what came off
// the network, so it is treated as possibly taken over: a line becomes a message only if every
// field has the type, length and syntax it must have and no field is unknown; anything else is an
// error that says what was wrong. Pure, so hostile input is tested with plain strings.
import { isIP } from 'node:net';
import type { KubeIdentity } from '../resolve/kubernetes/kube-index.js';
import { MAX_DNS_NAMES, MAX_DNS_RECORDS, MAX_KUBE_ENTRIES, MAX_LOG_CHARS, type FromResolver } from './resolver-messages.js';

class Invalid extends Error {}

type Obj = Record<string, unknown>;

function object(v: unknown, what: string, keys: readonly string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Invalid(`${what} is not an object`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw new Invalid(`${what} has an unknown field "${k.slice(0, 40)}"`);
  return v as Obj;
}

function array(v: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw new Invalid(`${what} is not an array`);
  if (v.length > max) throw new Invalid(`${what} has ${v.length} entries (at most ${max})`);
  return v;
}

function count(v: unknown, what: string, max: number): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > max) throw new Invalid(`${what} is not a whole number from 0 to ${max}`);
  return v as number;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new Invalid(`${what} is not true or false`);
  return v;
}

function matching(v: unknown, what: string, re: RegExp): string {
  if (typeof v !== 'string' || !re.test(v)) throw new Invalid(`${what} is not valid`);
  return v;
}

const optional = <T>(o: Obj, k: string, check: (v: unknown) => T): T | undefined => (o[k] === undefined ? undefined : check(o[k]));

/** Printable ASCII without spaces, as a DNS name in presentation form (IDNs are punycode). */
const DNS_NAME = /^[\x21-\x7e]{1,255}$/;
/** Kubernetes object names: DNS subdomains (pods, services, nodes, workloads) at most 253 long. */
const KUBE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;
const KUBE_NAMESPACE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const KUBE_KIND = /^[A-Za-z][A-Za-z0-9]{0,62}$/;
/** Log lines and parse errors: printable ASCII and tabs. */
const TEXT = new RegExp(`^[\\t\\x20-\\x7e]{0,${MAX_LOG_CHARS}}$`);
const TTL_MAX = 2 ** 31 - 1;

export const isDnsName = (name: string): boolean => DNS_NAME.test(name);

function ip(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length > 45 || isIP(v) === 0) throw new Invalid(`${what} is not an IP address`);
  return v;
}

function kubeIdentity(v: unknown, what: string): KubeIdentity {
  const o = object(v, what, ['kind', 'name', 'namespace', 'pod', 'workload', 'workloadKind', 'node']);
  if (o.kind !== 'pod' && o.kind !== 'service' && o.kind !== 'node') throw new Invalid(`${what}.kind is not pod, service or node`);
  const id: KubeIdentity = { kind: o.kind, name: matching(o.name, `${what}.name`, KUBE_NAME) };
  const namespace = optional(o, 'namespace', (x) => matching(x, `${what}.namespace`, KUBE_NAMESPACE));
  const pod = optional(o, 'pod', (x) => matching(x, `${what}.pod`, KUBE_NAME));
  const workload = optional(o, 'workload', (x) => matching(x, `${what}.workload`, KUBE_NAME));
  const workloadKind = optional(o, 'workloadKind', (x) => matching(x, `${what}.workloadKind`, KUBE_KIND));
  const node = optional(o, 'node', (x) => matching(x, `${what}.node`, KUBE_NAME));
  if (namespace !== undefined) id.namespace = namespace;
  if (pod !== undefined) id.pod = pod;
  if (workload !== undefined) id.workload = workload;
  if (workloadKind !== undefined) id.workloadKind = workloadKind;
  if (node !== undefined) id.node = node;
  return id;
}

function message(v: unknown): FromResolver {
  const type = (v as Obj | null)?.type;
  switch (type) {
    case 'ready':
      object(v, 'ready message', ['type']);
      return { type };
    case 'dns': {
      const o = object(v, 'dns message', ['type', 'names', 'answers', 'malformed', 'lastError']);
      const names = array(o.names, 'names', MAX_DNS_NAMES).map((n, i) => {
        const e = object(n, `names[${i}]`, ['ip', 'name', 'ttl']);
        return { ip: ip(e.ip, `names[${i}].ip`), name: matching(e.name, `names[${i}].name`, DNS_NAME), ttl: count(e.ttl, `names[${i}].ttl`, TTL_MAX) };
      });
      const m: FromResolver = { type, names, answers: count(o.answers, 'answers', MAX_DNS_RECORDS), malformed: count(o.malformed, 'malformed', MAX_DNS_RECORDS) };
      const lastError = optional(o, 'lastError', (x) => matching(x, 'lastError', TEXT));
      if (lastError !== undefined) m.lastError = lastError;
      return m;
    }
    case 'kube': {
      const o = object(v, 'kube message', ['type', 'reset', 'last', 'set', 'remove']);
      const set = array(o.set, 'set', MAX_KUBE_ENTRIES).map((e, i): [string, KubeIdentity] => {
        const pair = array(e, `set[${i}]`, 2);
        if (pair.length !== 2) throw new Invalid(`set[${i}] is not [ip, identity]`);
        return [ip(pair[0], `set[${i}][0]`), kubeIdentity(pair[1], `set[${i}][1]`)];
      });
      const remove = array(o.remove, 'remove', MAX_KUBE_ENTRIES - set.length).map((x, i) => ip(x, `remove[${i}]`));
      return { type, reset: bool(o.reset, 'reset'), last: bool(o.last, 'last'), set, remove };
    }
    case 'reverse': {
      const o = object(v, 'reverse message', ['type', 'id', 'name']);
      const m: FromResolver = { type, id: count(o.id, 'id', Number.MAX_SAFE_INTEGER) };
      const name = optional(o, 'name', (x) => matching(x, 'name', DNS_NAME));
      if (name !== undefined) m.name = name;
      return m;
    }
    case 'log': {
      const o = object(v, 'log message', ['type', 'line']);
      return { type, line: matching(o.line, 'line', TEXT) };
    }
    default:
      throw new Invalid(typeof type === 'string' ? `unknown message type "${type.slice(0, 40)}"` : 'no message type');
  }
}

/** One line from the resolver process as a checked message, or what is wrong with it. */
export function parseFromResolver(line: string): { message: FromResolver; error?: undefined } | { message?: undefined; error: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { error: 'not JSON' };
  }
  try {
    return { message: message(v) };
  } catch (e) {
    if (e instanceof Invalid) return { error: e.message };
    // JSON.parse builds plain data, so only a nesting deep enough to overflow the stack gets here.
    return { error: `unreadable (${(e as Error).name})` };
  }
}
