// The resolver process: everything the resolver learns from the network is parsed here — DNS
// answers the parent's dns.bpf.c copied off the wire, the Kubernetes API server's lists and watch
// streams, reverse DNS replies. Started by the privileged parent through setpriv as an
// unprivileged user with no capabilities, an empty bounding set and no_new_privs; it talks to the
// parent over fd 3 only (./resolver-messages.ts) and sends back compact facts the parent checks.
import '../heap-flags.js';
import { Socket } from 'node:net';
import { namesFromRecord } from '../resolve/dns/dns-sniffer.js';
import { makeReverseLookup } from '../resolve/dns/reverse-dns.js';
import type { KubeIdentity } from '../resolve/kubernetes/kube-index.js';
import type { KubeWatcher } from '../resolve/kubernetes/kube-watcher.js';
import { noCapabilities, processPrivileges } from './process-status.js';
import { isDnsName } from './resolver-facts.js';
import { LineReader } from './resolver-lines.js';
import { MAX_DNS_RECORDS, MAX_KUBE_ENTRIES, MAX_LINE_BYTES, MAX_LOG_CHARS, type FromResolver, type ToResolver } from './resolver-messages.js';

const fail = (message: string): never => {
  console.error(`weft-collector: resolver process: ${message}`);
  process.exit(1);
};

const self = processPrivileges();
if (self.uids.includes(0) || !noCapabilities(self.capEff) || !noCapabilities(self.capPrm)) fail(`refusing to run with privileges (uids ${self.uids.join(' ')}, CapEff ${self.capEff})`);

function channel(): Socket {
  try {
    return new Socket({ fd: 3, readable: true, writable: true });
  } catch (e) {
    return fail(`no channel to the parent on fd 3 (${(e as Error).message}): this process is started by weft-collector, not by hand`);
  }
}
const io = channel();
const send = (m: FromResolver): void => {
  io.write(`${JSON.stringify(m)}\n`);
};
const log = (line: string): void => send({ type: 'log', line: line.replace(/[^\t\x20-\x7e]/g, '?').slice(0, MAX_LOG_CHARS) });

let kube: KubeWatcher | undefined;
/** Settles once the informers run, if any: @kubernetes/client-node (~50 MB) is loaded only with a cluster to watch. */
let kubeStarted: Promise<void> = Promise.resolve();
let reverse: ((ip: string) => Promise<string | undefined>) | undefined;

/** Parses one batch of ring buffer records into address → name pairs the parent will accept. */
function dns(records: string[]): void {
  const out: Extract<FromResolver, { type: 'dns' }> = { type: 'dns', names: [], answers: 0, malformed: 0 };
  for (const r of records.slice(0, MAX_DNS_RECORDS)) {
    const parsed = namesFromRecord(Buffer.from(r, 'base64'));
    // A name the parent would refuse (bytes outside printable ASCII) makes the answer malformed here.
    const bad = parsed.names?.find((n) => !isDnsName(n.name));
    const error = parsed.error ?? (bad ? 'name with bytes outside printable ASCII' : undefined);
    if (error !== undefined) {
      out.malformed += 1;
      out.lastError = error.replace(/[^\t\x20-\x7e]/g, '?').slice(0, MAX_LOG_CHARS);
      continue;
    }
    out.answers += 1;
    for (const n of parsed.names!) out.names.push({ ip: n.ip, name: n.name, ttl: n.ttl });
  }
  send(out);
}

// Kubernetes facts: once every informer has listed, the whole set by address (in chunks, the
// parent swaps it in when complete), then only what changed, at most every PUBLISH_MS.
const PUBLISH_MS = 200;
let sent: Map<string, string> | undefined;
let dirty = true;

function publish(): void {
  if (!kube?.ready || !dirty) return;
  dirty = false;
  const now = new Map<string, string>();
  const facts = new Map<string, KubeIdentity>();
  for (const ip of kube.index.addresses()) {
    const id = kube.index.lookup(ip);
    if (!id) continue;
    facts.set(ip, id);
    now.set(ip, JSON.stringify(id));
  }
  const set: [string, KubeIdentity][] = [];
  for (const [ip, json] of now) if (sent?.get(ip) !== json) set.push([ip, facts.get(ip)!]);
  const remove = sent ? [...sent.keys()].filter((ip) => !now.has(ip)) : [];
  const reset = sent === undefined;
  sent = now;
  if (!reset && set.length === 0 && remove.length === 0) return;
  let first = true;
  do {
    const chunkSet = set.splice(0, MAX_KUBE_ENTRIES);
    const chunkRemove = remove.splice(0, MAX_KUBE_ENTRIES - chunkSet.length);
    send({ type: 'kube', reset: reset && first, last: set.length === 0 && remove.length === 0, set: chunkSet, remove: chunkRemove });
    first = false;
  } while (set.length > 0 || remove.length > 0);
}
setInterval(publish, PUBLISH_MS);

function handle(m: ToResolver): void {
  switch (m.type) {
    case 'init':
      if (m.kube) {
        const { config, options } = m.kube;
        kubeStarted = Promise.all([import('@kubernetes/client-node'), import('../resolve/kubernetes/kube-watcher.js')]).then(([{ KubeConfig }, { KubeWatcher }]) => {
          const kc = new KubeConfig();
          kc.loadFromOptions(config);
          kube = new KubeWatcher(kc, { ...options, log, onChange: () => (dirty = true) });
          kube.start();
        }).catch((e: Error) => fail(`kubernetes: ${e.message}`));
      }
      reverse = makeReverseLookup(m.reverse);
      break;
    case 'dns':
      dns(m.records);
      break;
    case 'reverse':
      if (!reverse) fail('reverse lookup before init');
      reverse!(m.ip).then((name) => send({ type: 'reverse', id: m.id, ...(name && isDnsName(name) ? { name } : {}) }));
      break;
    case 'token':
      void kubeStarted.then(() => kube?.setUserToken(m.user, m.token));
      break;
  }
}

const lines = new LineReader(
  MAX_LINE_BYTES,
  (line) => handle(JSON.parse(line) as ToResolver),
  (bytes) => fail(`the parent sent a line of ${bytes} bytes`),
);
io.on('data', (d: Buffer) => lines.push(d));
// The parent decides when this process ends, by closing fd 3 (or by going away itself): Ctrl-C and
// systemd's SIGTERM reach the whole group, and the parent may still be detaching its programs.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
io.on('close', () => process.exit(0));
io.on('error', () => process.exit(0));
send({ type: 'ready' });
