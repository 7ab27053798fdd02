import { describe, expect, it } from 'vitest';
import { KubeIndex, type PodObject } from '../../src/collector/resolve/kubernetes/kube-index.js';

function pod(name: string, ip: string, owner?: { kind: string; name: string }, extra: Partial<PodObject> = {}): PodObject {
  return {
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, ...(owner ? { ownerReferences: [{ ...owner, controller: true }] } : {}) },
    spec: { nodeName: 'node-a' },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
    ...extra,
  };
}

describe('Kubernetes index', () => {
  it('names a pod IP with its pod, Deployment (through its ReplicaSet), namespace and node', () => {
    const ix = new KubeIndex();
    ix.setPod(pod('web-7d9f-abcde', '10.71.5.1', { kind: 'ReplicaSet', name: 'web-7d9f' }));
    // Before the ReplicaSet is known, the ReplicaSet is the workload; nothing is guessed.
    expect(ix.lookup('10.71.5.1')).toMatchObject({ workload: 'web-7d9f', workloadKind: 'ReplicaSet' });
    ix.setOwned('ReplicaSet', { metadata: { name: 'web-7d9f', namespace: 'shop', ownerReferences: [{ kind: 'Deployment', name: 'web', controller: true }] } });
    expect(ix.lookup('10.71.5.1')).toEqual({ kind: 'pod', name: 'web-7d9f-abcde', pod: 'web-7d9f-abcde', namespace: 'shop', workload: 'web', workloadKind: 'Deployment', node: 'node-a' });
  });

  it.each([
    ['StatefulSet', 'db'],
    ['DaemonSet', 'agent'],
  ])('names pods of a %s', (kind, name) => {
    const ix = new KubeIndex();
    ix.setPod(pod(`${name}-0`, '10.71.5.2', { kind, name }));
    expect(ix.lookup('10.71.5.2')).toMatchObject({ workload: name, workloadKind: kind });
  });

  it('names Job pods by their CronJob, and plain Job pods by the Job', () => {
    const ix = new KubeIndex();
    ix.setPod(pod('backup-28000000-x1', '10.71.5.3', { kind: 'Job', name: 'backup-28000000' }));
    ix.setPod(pod('migrate-x2', '10.71.5.4', { kind: 'Job', name: 'migrate' }));
    ix.setOwned('Job', { metadata: { name: 'backup-28000000', namespace: 'shop', ownerReferences: [{ kind: 'CronJob', name: 'backup', controller: true }] } });
    ix.setOwned('Job', { metadata: { name: 'migrate', namespace: 'shop' } });
    expect(ix.lookup('10.71.5.3')).toMatchObject({ workload: 'backup', workloadKind: 'CronJob' });
    expect(ix.lookup('10.71.5.4')).toMatchObject({ workload: 'migrate', workloadKind: 'Job' });
    ix.deleteOwned('Job', { metadata: { name: 'backup-28000000', namespace: 'shop' } });
    expect(ix.lookup('10.71.5.3')).toMatchObject({ workload: 'backup-28000000', workloadKind: 'Job' });
  });

  it('a bare pod has no workload; a hostNetwork pod does not claim the node address', () => {
    const ix = new KubeIndex();
    ix.setPod(pod('debug', '10.71.5.5'));
    expect(ix.lookup('10.71.5.5')).toEqual({ kind: 'pod', name: 'debug', pod: 'debug', namespace: 'shop', node: 'node-a' });
    ix.setPod(pod('kube-proxy-x', '10.71.0.10', { kind: 'DaemonSet', name: 'kube-proxy' }, { spec: { hostNetwork: true } }));
    expect(ix.lookup('10.71.0.10')).toBeUndefined();
  });

  it('follows updates and deletes', () => {
    const ix = new KubeIndex();
    ix.setPod(pod('a', '10.71.5.6'));
    ix.setPod({ ...pod('a', '10.71.5.7') });
    expect(ix.lookup('10.71.5.6')).toBeUndefined();
    expect(ix.lookup('10.71.5.7')?.pod).toBe('a');
    ix.deletePod(pod('a', '10.71.5.7'));
    expect(ix.lookup('10.71.5.7')).toBeUndefined();
    expect(ix.podCount).toBe(0);
  });

  it('re-attributes a reused pod IP whatever the order of events', () => {
    const ix = new KubeIndex();
    ix.setPod(pod('old', '10.71.5.8'));
    // The new pod's add arrives before the old pod's delete.
    ix.setPod(pod('new', '10.71.5.8'));
    expect(ix.lookup('10.71.5.8')?.pod).toBe('new');
    // A late update of the old pod (now Succeeded) does not take the IP back.
    ix.setPod(pod('old', '10.71.5.8', undefined, { status: { phase: 'Succeeded', podIP: '10.71.5.8' } }));
    expect(ix.lookup('10.71.5.8')?.pod).toBe('new');
    ix.deletePod(pod('old', '10.71.5.8'));
    expect(ix.lookup('10.71.5.8')?.pod).toBe('new');
    // And if the new one goes first, the IP falls back to nobody once the old is gone too.
    ix.setPod(pod('old', '10.71.5.8'));
    ix.deletePod(pod('new', '10.71.5.8'));
    expect(ix.lookup('10.71.5.8')?.pod).toBe('old');
    ix.deletePod(pod('old', '10.71.5.8'));
    expect(ix.lookup('10.71.5.8')).toBeUndefined();
  });

  it('names service ClusterIPs and non-pod endpoint slice addresses', () => {
    const ix = new KubeIndex();
    ix.setService({ metadata: { name: 'web', namespace: 'shop', uid: 's1' }, spec: { clusterIP: '10.71.96.1', clusterIPs: ['10.71.96.1', 'fd00:71::96:1'] } });
    ix.setService({ metadata: { name: 'headless', namespace: 'shop', uid: 's2' }, spec: { clusterIP: 'None' } });
    expect(ix.lookup('10.71.96.1')).toEqual({ kind: 'service', name: 'web', namespace: 'shop' });
    expect(ix.lookup('fd00:71::96:1')?.name).toBe('web');
    expect(ix.lookup('None')).toBeUndefined();
    ix.setEndpointSlice({
      metadata: { name: 'legacy-abc', namespace: 'shop', uid: 'e1', labels: { 'kubernetes.io/service-name': 'legacy' } },
      endpoints: [{ addresses: ['10.71.200.1'] }, { addresses: ['10.71.5.9'], targetRef: { kind: 'Pod' } }],
    });
    expect(ix.lookup('10.71.200.1')).toEqual({ kind: 'service', name: 'legacy', namespace: 'shop' });
    expect(ix.lookup('10.71.5.9')).toBeUndefined();
    ix.deleteService({ metadata: { name: 'web', namespace: 'shop', uid: 's1' } });
    ix.deleteEndpointSlice({ metadata: { name: 'legacy-abc', namespace: 'shop', uid: 'e1' } });
    expect(ix.lookup('10.71.96.1')).toBeUndefined();
    expect(ix.lookup('10.71.200.1')).toBeUndefined();
  });

  it('names node addresses, and pods win over their node', () => {
    const ix = new KubeIndex();
    ix.setNode({ metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: '10.71.0.10' }, { type: 'Hostname', address: 'node-a' }] } });
    expect(ix.lookup('10.71.0.10')).toEqual({ kind: 'node', name: 'node-a', node: 'node-a' });
    expect(ix.lookup('node-a')).toBeUndefined();
    ix.setPod(pod('odd', '10.71.0.10'));
    expect(ix.lookup('10.71.0.10')?.kind).toBe('pod');
    ix.deletePod(pod('odd', '10.71.0.10'));
    ix.deleteNode({ metadata: { name: 'node-a' } });
    expect(ix.lookup('10.71.0.10')).toBeUndefined();
  });

  it('ignores objects without names', () => {
    const ix = new KubeIndex();
    ix.setPod({ status: { podIP: '10.71.5.10' } });
    ix.setService({ spec: { clusterIP: '10.71.96.2' } });
    expect(ix.lookup('10.71.5.10')).toBeUndefined();
    expect(ix.lookup('10.71.96.2')).toBeUndefined();
  });
});
