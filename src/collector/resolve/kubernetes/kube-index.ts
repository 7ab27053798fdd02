// What the cluster says about an address, from the objects the informers hold. Pure: fed with
// add/update/delete of pods, services, endpoint slices, replica sets and jobs, in any order.
//
// An IP can pass from one pod to another (a deleted pod's address is handed to a new one, and the
// events may arrive in either order), so each IP keeps every pod that claims it and answers with
// the most recent live one; deleting a pod gives its IPs back to whoever else claims them.

export interface OwnerRef {
  kind: string;
  name: string;
}

export interface KubeObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
}

export interface PodObject extends KubeObject {
  spec?: { nodeName?: string; hostNetwork?: boolean };
  status?: { phase?: string; podIP?: string; podIPs?: { ip: string }[] };
}

export interface ServiceObject extends KubeObject {
  spec?: { clusterIP?: string; clusterIPs?: string[] };
}

export interface NodeObject extends KubeObject {
  status?: { addresses?: { type?: string; address?: string }[] };
}

export interface EndpointSliceObject extends KubeObject {
  endpoints?: { addresses?: string[]; targetRef?: { kind?: string } }[];
}

export interface KubeIdentity {
  kind: 'pod' | 'service' | 'node';
  name: string;
  /** Absent for nodes, which belong to no namespace. */
  namespace?: string;
  pod?: string;
  workload?: string;
  workloadKind?: string;
  node?: string;
}

interface Pod {
  name: string;
  namespace: string;
  ips: string[];
  node?: string;
  owner?: OwnerRef;
  live: boolean;
  seq: number;
}

interface Service {
  name: string;
  namespace: string;
  ips: string[];
}

function controllerOf(o: KubeObject): OwnerRef | undefined {
  const refs = o.metadata?.ownerReferences ?? [];
  const c = refs.find((r) => r.controller) ?? refs[0];
  return c ? { kind: c.kind, name: c.name } : undefined;
}

function key(o: KubeObject): string | undefined {
  const m = o.metadata;
  if (!m?.name) return undefined;
  return m.uid ?? `${m.namespace ?? ''}/${m.name}`;
}

/** Adds `id` to the claimants of each ip, or removes it. */
function claim(index: Map<string, Set<string>>, ips: string[], id: string, add: boolean): void {
  for (const ip of ips) {
    let set = index.get(ip);
    if (add) {
      if (!set) index.set(ip, (set = new Set()));
      set.add(id);
    } else if (set) {
      set.delete(id);
      if (set.size === 0) index.delete(ip);
    }
  }
}

export class KubeIndex {
  private readonly pods = new Map<string, Pod>();
  private readonly podsByIp = new Map<string, Set<string>>();
  private readonly services = new Map<string, Service>();
  private readonly servicesByIp = new Map<string, Set<string>>();
  private readonly slices = new Map<string, Service>();
  private readonly slicesByIp = new Map<string, Set<string>>();
  private readonly nodes = new Map<string, Service>();
  private readonly nodesByIp = new Map<string, Set<string>>();
  /** namespace/name of a ReplicaSet or Job → its own controller (Deployment, CronJob). */
  private readonly owners = new Map<string, OwnerRef>();
  private seq = 0;

  setPod(o: PodObject): void {
    const id = key(o);
    if (!id) return;
    this.deletePod(o);
    const m = o.metadata!;
    // hostNetwork pods share the node's address: that address names the node, not the pod.
    const ips = o.spec?.hostNetwork ? [] : podIps(o);
    const phase = o.status?.phase;
    const pod: Pod = { name: m.name!, namespace: m.namespace ?? 'default', ips, live: phase !== 'Succeeded' && phase !== 'Failed', seq: ++this.seq };
    if (o.spec?.nodeName) pod.node = o.spec.nodeName;
    const owner = controllerOf(o);
    if (owner) pod.owner = owner;
    this.pods.set(id, pod);
    claim(this.podsByIp, ips, id, true);
  }

  deletePod(o: PodObject): void {
    const id = key(o);
    const old = id ? this.pods.get(id) : undefined;
    if (!id || !old) return;
    claim(this.podsByIp, old.ips, id, false);
    this.pods.delete(id);
  }

  setService(o: ServiceObject): void {
    this.setNamed(o, this.services, this.servicesByIp, serviceIps(o));
  }

  deleteService(o: ServiceObject): void {
    this.deleteNamed(o, this.services, this.servicesByIp);
  }

  /** Endpoint slices name the addresses behind a service that are not pods (e.g. external endpoints). */
  setEndpointSlice(o: EndpointSliceObject): void {
    const service = o.metadata?.labels?.['kubernetes.io/service-name'];
    if (!service) return;
    const ips = (o.endpoints ?? []).filter((e) => e.targetRef?.kind !== 'Pod').flatMap((e) => e.addresses ?? []);
    this.setNamed(o, this.slices, this.slicesByIp, ips, service);
  }

  deleteEndpointSlice(o: EndpointSliceObject): void {
    this.deleteNamed(o, this.slices, this.slicesByIp);
  }

  /** Node addresses (InternalIP, ExternalIP) name the node: hostNetwork pods and other hosts. */
  setNode(o: NodeObject): void {
    const ips = (o.status?.addresses ?? []).filter((a) => (a.type === 'InternalIP' || a.type === 'ExternalIP') && a.address).map((a) => a.address!);
    this.setNamed(o, this.nodes, this.nodesByIp, ips);
  }

  deleteNode(o: NodeObject): void {
    this.deleteNamed(o, this.nodes, this.nodesByIp);
  }

  /** ReplicaSets and Jobs: remembered only for the workload that owns them. */
  setOwned(kind: 'ReplicaSet' | 'Job', o: KubeObject): void {
    const m = o.metadata;
    const owner = controllerOf(o);
    if (!m?.name) return;
    // kind is passed in: list items come without it.
    const k = `${kind}:${m.namespace ?? ''}/${m.name}`;
    if (owner) this.owners.set(k, owner);
    else this.owners.delete(k);
  }

  deleteOwned(kind: 'ReplicaSet' | 'Job', o: KubeObject): void {
    const m = o.metadata;
    if (m?.name) this.owners.delete(`${kind}:${m.namespace ?? ''}/${m.name}`);
  }

  lookup(ip: string): KubeIdentity | undefined {
    const pod = this.podAt(ip);
    if (pod) {
      const id: KubeIdentity = { kind: 'pod', name: pod.name, namespace: pod.namespace, pod: pod.name };
      const w = this.workload(pod);
      if (w) {
        id.workload = w.name;
        id.workloadKind = w.kind;
      }
      if (pod.node) id.node = pod.node;
      return id;
    }
    const svc = latest(this.servicesByIp.get(ip), this.services) ?? latest(this.slicesByIp.get(ip), this.slices);
    if (svc) return { kind: 'service', name: svc.name, namespace: svc.namespace };
    const node = latest(this.nodesByIp.get(ip), this.nodes);
    if (node) return { kind: 'node', name: node.name, node: node.name };
    return undefined;
  }

  /** Every address some object claims: what lookup() may answer for. */
  addresses(): Set<string> {
    return new Set([...this.podsByIp.keys(), ...this.servicesByIp.keys(), ...this.slicesByIp.keys(), ...this.nodesByIp.keys()]);
  }

  get podCount(): number {
    return this.pods.size;
  }

  private podAt(ip: string): Pod | undefined {
    let best: Pod | undefined;
    for (const id of this.podsByIp.get(ip) ?? []) {
      const p = this.pods.get(id);
      if (!p) continue;
      // A live pod beats a finished one; among equals the latest event wins.
      if (!best || (p.live && !best.live) || (p.live === best.live && p.seq > best.seq)) best = p;
    }
    return best;
  }

  private workload(pod: Pod): OwnerRef | undefined {
    const o = pod.owner;
    if (!o) return undefined;
    if (o.kind === 'ReplicaSet' || o.kind === 'Job') {
      const up = this.owners.get(`${o.kind}:${pod.namespace}/${o.name}`);
      // A ReplicaSet's Deployment, a Job's CronJob; else the ReplicaSet or Job itself.
      if (up && (up.kind === 'Deployment' || up.kind === 'CronJob')) return up;
    }
    return o;
  }

  private setNamed(o: KubeObject, map: Map<string, Service>, byIp: Map<string, Set<string>>, ips: string[], name = o.metadata?.name): void {
    const id = key(o);
    if (!id || !name) return;
    this.deleteNamed(o, map, byIp);
    map.set(id, { name, namespace: o.metadata?.namespace ?? 'default', ips });
    claim(byIp, ips, id, true);
  }

  private deleteNamed(o: KubeObject, map: Map<string, Service>, byIp: Map<string, Set<string>>): void {
    const id = key(o);
    const old = id ? map.get(id) : undefined;
    if (!id || !old) return;
    claim(byIp, old.ips, id, false);
    map.delete(id);
  }
}

function podIps(o: PodObject): string[] {
  const ips = new Set<string>();
  if (o.status?.podIP) ips.add(o.status.podIP);
  for (const p of o.status?.podIPs ?? []) if (p?.ip) ips.add(p.ip);
  return [...ips];
}

function serviceIps(o: ServiceObject): string[] {
  const ips = new Set<string>();
  for (const ip of [o.spec?.clusterIP, ...(o.spec?.clusterIPs ?? [])]) if (ip && ip !== 'None') ips.add(ip);
  return [...ips];
}

/** The claimant set most recently (a set re-adds on every update), when several claim one address. */
function latest(ids: Set<string> | undefined, map: Map<string, Service>): Service | undefined {
  let last: Service | undefined;
  for (const id of ids ?? []) last = map.get(id) ?? last;
  return last;
}
