// Objects as the API serves them (trimmed to the fields a watcher reads, names and shapes as in
// `kubectl get -o json` of a real cluster): a Deployment's pod through its ReplicaSet, a
// StatefulSet pod, a CronJob's pod through its Job, a service, and an endpoint slice with an
// address that is not a pod, and the node they run on.
export const NS = 'shop';

export function pod(name: string, ip: string | undefined, owner?: { kind: string; name: string }, phase = 'Running') {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      creationTimestamp: '2026-11-22T19:00:00Z',
      ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: `uid-${owner.name}`, controller: true, blockOwnerDeletion: true }] } : {}),
    },
    spec: { nodeName: 'node-74', containers: [{ name: 'main', image: 'registry.test/main:1' }] },
    status: { phase, ...(ip ? { podIP: ip, podIPs: [{ ip }], hostIP: '10.74.0.1' } : {}) },
  };
}

export const replicaSet = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: 'web-7d9f5', namespace: NS, uid: 'uid-web-7d9f5', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true }] },
  spec: { replicas: 1 },
};

export const job = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'backup-29000000', namespace: NS, uid: 'uid-backup-29000000', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'backup', uid: 'uid-backup', controller: true }] },
  spec: {},
};

export const service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: NS, uid: 'uid-svc-web' },
  spec: { type: 'ClusterIP', clusterIP: '10.74.96.1', clusterIPs: ['10.74.96.1'], ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] },
};

export const endpointSlice = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'legacy-db-x7k2p', namespace: NS, uid: 'uid-eps-legacy', labels: { 'kubernetes.io/service-name': 'legacy-db' } },
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.74.200.1'], conditions: { ready: true } }],
  ports: [{ port: 5432, protocol: 'TCP' }],
};

export const node = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'node-74', uid: 'uid-node-74', labels: { 'kubernetes.io/hostname': 'node-74' } },
  status: {
    addresses: [
      { type: 'InternalIP', address: '10.74.0.1' },
      { type: 'Hostname', address: 'node-74' },
    ],
  },
};
