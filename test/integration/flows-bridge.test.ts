// Two pods behind a bridge: the same packets cross four interfaces of this host (each pod's eth0
// and its node-side veth). Totals must count them once; the other copies are marked duplicate.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFlowCollector, type FlowCollector } from '../../src/collector/flow-collector.js';
import { destroyAll } from '../helpers/netns.js';
import { describePrivileged } from '../helpers/privileged.js';
import { createBridgeTopology, type BridgeTopology } from '../helpers/flows-topology.js';
import { udpExchange } from '../helpers/flows-traffic.js';

describePrivileged('flows through a bridge between two pods', () => {
  let topo: BridgeTopology;
  let collector: FlowCollector;

  beforeAll(async () => {
    topo = createBridgeTopology(42);
    const [p1, p2] = topo.pods;
    collector = await startFlowCollector({
      interfaces: [`${topo.node.ns}:fpod*`, `${topo.node.ns}:${topo.bridge}`, `${p1!.host.ns}:eth0`, `${p2!.host.ns}:eth0`].join(','),
      activeTimeoutMs: 300,
    });
  });

  afterAll(async () => {
    await collector?.close();
    destroyAll();
  });

  it('counts pod-to-pod datagrams once in totals and marks the other copies duplicate', async () => {
    const [p1, p2] = topo.pods;
    expect(collector.health().interfaces).toHaveLength(5);
    const count = 40;
    const size = 333;
    expect(await udpExchange(p1!.host, p2!.host, p2!.ip, 4242, count, size, 42042)).toBe(count);
    collector.drainNow();
    const copies = collector.records().filter((f) => f.protocol === 'udp' && f.src === p1!.ip && f.dst === p2!.ip && f.srcPort === 42042);
    const where = copies.map((f) => `${f.netns}:${f.interface}:${f.direction}`).sort();
    expect(where).toEqual(
      [`${p1!.host.ns}:eth0:egress`, `${topo.node.ns}:${p1!.nodeIf}:ingress`, `${topo.node.ns}:${p2!.nodeIf}:egress`, `${p2!.host.ns}:eth0:ingress`].sort(),
    );
    for (const f of copies) expect(f).toMatchObject({ packets: count, payloadBytes: count * size, bytes: count * (size + 28) });
    const counted = copies.filter((f) => !f.duplicate);
    expect(counted).toHaveLength(1);
    // Totals over non-duplicates are the traffic sent, once.
    expect(counted.reduce((n, f) => n + f.packets, 0)).toBe(count);
    // Bridged frames do not cross the bridge device's own TC hooks: no copy there to count.
    expect(copies.some((f) => f.interface === topo.bridge)).toBe(false);
  });

  it('counts traffic to the node itself (through the bridge device) once too', async () => {
    const [p1] = topo.pods;
    const count = 10;
    expect(await udpExchange(p1!.host, topo.node, '10.42.0.1', 4243, count, 100, 42043)).toBe(count);
    collector.drainNow();
    const copies = collector.records().filter((f) => f.protocol === 'udp' && f.srcPort === 42043);
    expect(copies.map((f) => `${f.interface}:${f.direction}`).sort()).toEqual([`eth0:egress`, `${p1!.nodeIf}:ingress`, `${topo.bridge}:ingress`].sort());
    expect(copies.filter((f) => !f.duplicate).map((f) => f.interface)).not.toContain(topo.bridge);
    expect(copies.filter((f) => !f.duplicate)).toHaveLength(1);
  });
});
