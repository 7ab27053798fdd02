// The collector's real tables: links from the socket tracepoints, flows from TC, both named by the
// resolver. What `weft-collector` runs on; tests feed memory tables instead.
import type { CollectorParts } from '../collector.js';
import type { CollectorConfig } from '../config.js';
import { startFlowCollector, type FlowCollector } from '../flow-collector.js';
import { probeKernel } from '../kernel/probe.js';
import { startLinkCollector } from '../link-collector.js';
import { createResolver } from '../resolve/resolver.js';

/** The tracepoints Weft uses, reported on /healthz and at start. */
export const TRACEPOINTS = ['sock:inet_sock_set_state', 'sock:sock_send_length', 'sock:sock_recv_length', 'tcp:tcp_probe', 'tcp:tcp_retransmit_skb', 'tcp:tcp_destroy_sock', 'skb:kfree_skb'];

export async function openKernelTables(config: CollectorConfig): Promise<CollectorParts> {
  const features = probeKernel(TRACEPOINTS);
  const resolver = createResolver({ log: (line) => console.error(`weft-collector: resolve: ${line}`) });
  await resolver.ready();
  const links = await startLinkCollector({
    pollIntervalMs: config.pollIntervalMs,
    resolver,
    ...(config.linksMapSize ? { mapSizes: { conns: config.linksMapSize } } : {}),
    ...(config.includeSelf ? {} : { exclude: { pids: [process.pid] } }),
  });
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
  return {
    links,
    flows,
    features,
    health: { links: () => links.health(), flows: () => flows.health() },
    async close() {
      // Programs detach and TC state goes with the collectors' close.
      await flows.close();
      await links.close();
      resolver.close();
    },
  };
}
