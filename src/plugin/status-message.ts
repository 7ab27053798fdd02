// What Save & test says about a collector that answered: its version, kernel features, table sizes.
import type { StatusResponse } from '../protocol/index.js';

const yes = (b: boolean) => (b ? 'yes' : 'no');

export function statusMessage(s: StatusResponse): string {
  const f = s.features;
  const tracepoints = Object.entries(f.tracepoints ?? {});
  const available = tracepoints.filter(([, ok]) => ok).length;
  return (
    `Connected to weft-collector ${s.version} on ${s.node} (protocol ${s.protocol}). ` +
    `Kernel ${f.kernelRelease}: BTF ${yes(f.btf)}, ring buffer ${yes(f.ringbuf)}, tcx ${yes(f.tcx)}, kprobes ${yes(f.kprobes)}, ` +
    `tracepoints ${available}/${tracepoints.length}. ` +
    `Tables: ${s.tables.links} links, ${s.tables.flows} flows.`
  );
}
