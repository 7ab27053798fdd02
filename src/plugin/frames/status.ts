// The collector's status as one row: what a dashboard's health stats show.
import type { DataFrame } from '@grafana/data';
import type { StatusResponse } from '../../protocol/index.js';
import { BOOLEAN, field, frame, NUMBER, STRING, TIME } from './frame.js';

export function statusToFrame(s: StatusResponse, refId: string, time: number): DataFrame {
  const tracepoints = Object.values(s.features.tracepoints ?? {});
  return frame(
    'status',
    refId,
    [
      field('time', TIME, [time]),
      field('links', NUMBER, [s.tables.links], { displayName: 'Links', unit: 'none' }),
      field('flows', NUMBER, [s.tables.flows], { displayName: 'Flows', unit: 'none' }),
      field('version', STRING, [s.version], { displayName: 'Collector version' }),
      field('node', STRING, [s.node], { displayName: 'Node' }),
      field('kernel', STRING, [s.features.kernelRelease], { displayName: 'Kernel' }),
      field('btf', BOOLEAN, [s.features.btf], { displayName: 'BTF' }),
      field('ringbuf', BOOLEAN, [s.features.ringbuf], { displayName: 'Ring buffer' }),
      field('tcx', BOOLEAN, [s.features.tcx], { displayName: 'tcx' }),
      field('tracepoints', NUMBER, [tracepoints.filter(Boolean).length], { displayName: 'Tracepoints attached', unit: 'none' }),
    ],
    'table',
  );
}
