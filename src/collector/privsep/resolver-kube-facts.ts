// The parent's copy of what the resolver process learned from the Kubernetes API: address →
// identity, bounded. A whole new set (a restarted child's first list) is built aside and replaces
// the one in use only once complete, so names never blink out while it arrives; while the child is
// down the last set stands.
import type { KubeIdentity } from '../resolve/kubernetes/kube-index.js';
import { MAX_KUBE_FACTS, type FromResolver } from './resolver-messages.js';

export class KubeFacts {
  private live = new Map<string, KubeIdentity>();
  private building: Map<string, KubeIdentity> | undefined;

  constructor(private readonly max = MAX_KUBE_FACTS) {}

  lookup(ip: string): KubeIdentity | undefined {
    return this.live.get(ip);
  }

  get size(): number {
    return this.live.size;
  }

  /** Applies a checked message; throws (changing nothing) when it would pass the bound. */
  apply(m: Extract<FromResolver, { type: 'kube' }>): void {
    if (m.reset) this.building = new Map();
    const target = this.building ?? this.live;
    const adds = m.set.filter(([ip]) => !target.has(ip)).length;
    if (target.size + adds > this.max) {
      throw new Error(`Kubernetes facts would pass ${this.max} addresses; message dropped`);
    }
    for (const ip of m.remove) target.delete(ip);
    for (const [ip, id] of m.set) target.set(ip, id);
    if (m.last && this.building) {
      this.live = this.building;
      this.building = undefined;
    }
  }

  /** A new child starts its own set; a half-built one from the child before is dropped. */
  childStarted(): void {
    this.building = undefined;
  }
}
