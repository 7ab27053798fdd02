// A node with a bridge and two pods, as a container runtime builds it: three network namespaces,
// the bridge in the node's, one veth per pod (pod side `eth0`, node side a port of the bridge).
import { createHost, ip, type TestHost } from './netns.js';

export interface BridgeTopology {
  node: TestHost;
  pods: { host: TestHost; ip: string; nodeIf: string }[];
  bridge: string;
}

export function createBridgeTopology(subnet: number): BridgeTopology {
  const node = createHost('fn');
  const bridge = 'fbr0';
  ip('-n', node.ns, 'link', 'add', bridge, 'type', 'bridge');
  ip('-n', node.ns, 'addr', 'add', `10.${subnet}.0.1/24`, 'dev', bridge);
  ip('-n', node.ns, 'link', 'set', bridge, 'up');
  const pods = [2, 3].map((n) => {
    const host = createHost('fp');
    const nodeIf = `fpod${n}`;
    ip('-n', node.ns, 'link', 'add', nodeIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns);
    ip('-n', node.ns, 'link', 'set', nodeIf, 'master', bridge, 'up');
    const addr = `10.${subnet}.0.${n}`;
    ip('-n', host.ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
    ip('-n', host.ns, 'link', 'set', 'eth0', 'up');
    return { host, ip: addr, nodeIf };
  });
  return { node, pods, bridge };
}
