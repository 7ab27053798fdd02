// The collector's real tables: links from the socket tracepoints and UDP links from TC flows,
// flows from TC, all named by the resolver (DNS answers watched on the flows' interfaces, NAT
// from conntrack). What `weft-collector` runs on; tests feed memory tables instead.
import type { CollectorParts } from '../collector.js';
import type { CollectorConfig } from '../config.js';
import { startFlowCollector, type FlowCollector } from '../flow-collector.js';
import { parseInterfaceSpec } from '../interfaces/spec.js';
import { unmatchedInterfaces } from '../interfaces/unmatched.js';
import type { Attachment } from '../kernel/types.js';
import { probeKernel } from '../kernel/probe.js';
import { startLinkCollector, type LinkCollector } from '../link-collector.js';
import { trimMallocEvery } from '../malloc-trim.js';
import type { DnsSnifferStats } from '../resolve/dns/dns-sniffer.js';
import { createResolver, type WeftResolver } from '../resolve/resolver.js';
import type { ServerUser } from '../privsep/user.js';
import { readUdpListeners } from '../sockets/udp-listeners.js';
import { CombinedLinks } from './combined-links.js';
import type { UdpListener } from './udp-links.js';

/** The tracepoints Weft uses, reported on /healthz and at start. */
export const TRACEPOINTS = ['sock:inet_sock_set_state', 'sock:sock_send_length', 'sock:sock_recv_length', 'tcp:tcp_probe', 'tcp:tcp_retransmit_skb', 'tcp:tcp_destroy_sock', 'skb:kfree_skb'];

/** How often the flows' interfaces are followed for DNS and NAT looked at again. */
const FOLLOW_MS = 1000;
/** How often the UDP listening ports are read again. */
const LISTENERS_MS = 2000;
const MAX_ERRORS = 20;
/** /healthz keeps one shape when no DNS sniffer runs. */
const NO_DNS_ANSWERS: DnsSnifferStats = { answers: 0, names: 0, malformed: 0, lost: 0 };

export async function openKernelTables(config: CollectorConfig, privileges: { isolate?: ServerUser } = {}): Promise<CollectorParts> {
  const features = probeKernel(TRACEPOINTS);
  // Conntrack of our own namespace and of every namespace --interfaces names: where flows are
  // watched is where translated connections are worth undoing.
  const spec = parseInterfaceSpec(config.interfaces.join(','));
  const natNetns = [...new Set(spec.patterns.flatMap((p) => (p.netns ? [`/run/netns/${p.netns}`] : [])))];
  const resolver = createResolver({
    nat: { netns: [undefined, ...natNetns] },
    ...(privileges.isolate ? { isolate: { user: privileges.isolate } } : {}),
    log: (line) => console.error(`weft-collector: resolve: ${line}`),
  });
  await resolver.ready();
  let links: LinkCollector;
  try {
    links = await startLinkCollector({
      pollIntervalMs: config.pollIntervalMs,
      resolver,
      ...(config.linksMapSize ? { mapSizes: { conns: config.linksMapSize } } : {}),
      ...(config.includeSelf ? {} : { exclude: { pids: [process.pid] } }),
    });
  } catch (e) {
    // The resolver's child and conntrack processes would keep this process alive after the error.
    resolver.close();
    throw e;
  }
  let flows: FlowCollector;
  try {
    flows = await startFlowCollector({
      resolver,
      ...(config.interfaces.length ? { interfaces: config.interfaces.join(',') } : {}),
      ...(config.flowsMapSize ? { mapSizes: { flows: config.flowsMapSize } } : {}),
    });
  } catch (e) {
    await links.close();
    resolver.close();
    throw e;
  }
  for (const line of unmatchedInterfaces(spec, flows.health().interfaces)) console.error(`weft-collector: flows: ${line}; attached when it appears`);

  const errors: string[] = [];
  const report = (what: string, e: unknown): void => {
    errors.push(`${new Date().toISOString()} ${what}: ${(e as Error).message}`);
    if (errors.length > MAX_ERRORS) errors.shift();
  };

  let listeners: UdpListener[] = [];
  const combined = new CombinedLinks({
    tcp: links,
    udp: () => flows.udpLinks(listeners),
    udpChanged: (l) => flows.onChange(l),
    natOrigins: (ip, port, protocol) => resolver.natOrigins?.(ip, port, protocol) ?? [],
  });

  let reading: Promise<void> | undefined;
  const readListeners = (): Promise<void> =>
    (reading ??= readUdpListeners()
      .then((s) => {
        for (const e of s.errors) report('udp listeners', new Error(e));
        const changed = JSON.stringify(s.listeners) !== JSON.stringify(listeners);
        listeners = s.listeners;
        if (changed) combined.refreshUdp();
      })
      .catch((e: unknown) => report('udp listeners', e))
      .finally(() => (reading = undefined)));
  await readListeners();
  const listenersTimer = setInterval(() => void readListeners(), LISTENERS_MS);
  listenersTimer.unref();

  const dns = new DnsFollower(resolver, flows, report);
  const follow = (): void => {
    dns.follow();
    try {
      combined.refreshNat();
    } catch (e) {
      report('nat', e);
    }
  };
  follow();
  const followTimer = setInterval(follow, FOLLOW_MS);
  followTimer.unref();
  const stopTrimming = trimMallocEvery((line) => console.error(`weft-collector: ${line}`));

  return {
    links: combined,
    flows,
    features,
    health: {
      links: () => links.health(),
      flows: () => flows.health(),
      wiring: () => ({
        udpListeners: listeners.length,
        udpLinks: combined.size() - links.size(),
        dnsInterfaces: dns.watched(),
        dnsAnswers: resolver.dnsSniffer?.stats ?? NO_DNS_ANSWERS,
        natNamespaces: ['(own)', ...natNetns],
        ...(resolver.isolated ? { resolverProcess: resolver.isolated.health() } : {}),
        errors: [...errors],
      }),
    },
    async close() {
      clearInterval(listenersTimer);
      clearInterval(followTimer);
      stopTrimming();
      await reading;
      combined.close();
      dns.close();
      // Programs detach and TC state goes with the collectors' close.
      await flows.close();
      await links.close();
      resolver.close();
    },
  };
}

/**
 * Keeps the resolver's DNS program on the interfaces the flow collector is attached to, as they
 * come and go. Both directions: answers to this host arrive on ingress, answers to a pod leave a
 * host-side veth on egress.
 */
class DnsFollower {
  private readonly attached = new Map<string, { label: string; attachments: Attachment[] }>();

  constructor(
    private readonly resolver: WeftResolver,
    private readonly flows: FlowCollector,
    private readonly report: (what: string, e: unknown) => void,
  ) {}

  follow(): void {
    let now: { name: string; netns?: string; ifindex: number }[];
    try {
      now = this.flows.health().interfaces;
    } catch (e) {
      this.report('dns', e);
      return;
    }
    const keep = new Set<string>();
    for (const i of now) {
      const key = `${i.netns ?? ''}/${i.ifindex}/${i.name}`;
      keep.add(key);
      if (this.attached.has(key)) continue;
      const netns = i.netns ? { netns: `/run/netns/${i.netns}` } : {};
      try {
        const attachments = this.resolver.watchDns([
          { interface: i.name, ...netns, direction: 'ingress' },
          { interface: i.name, ...netns, direction: 'egress' },
        ]);
        this.attached.set(key, { label: i.netns ? `${i.netns}:${i.name}` : i.name, attachments });
      } catch (e) {
        // Gone again before we got to it, most likely; tried again next time while flows list it.
        this.report(`dns on ${i.netns ? `${i.netns}:` : ''}${i.name}`, e);
      }
    }
    for (const [key, a] of this.attached) {
      if (keep.has(key)) continue;
      this.detach(a.attachments);
      this.attached.delete(key);
    }
  }

  watched(): string[] {
    return [...this.attached.values()].map((a) => a.label).sort();
  }

  close(): void {
    for (const a of this.attached.values()) this.detach(a.attachments);
    this.attached.clear();
  }

  private detach(attachments: Attachment[]): void {
    for (const a of attachments) {
      try {
        a.detach();
      } catch {
        // the device went away and took its TC hooks with it
      }
    }
  }
}
