// Final byte counts of a closed connection. The tracepoints see what the application wrote and
// read through sendmsg/recvmsg; splice from a socket and zero-copy receive never pass there. The
// socket's own sequence numbers count everything, so at close the two are compared and the
// kernel's figure wins when they differ (a "correction").
import type { CloseRecord } from '../kernel/links-records.js';

const TCP_FIN_WAIT1 = 4;
const TCP_FIN_WAIT2 = 5;
const TCP_LAST_ACK = 9;
const TCP_CLOSING = 11;

/** States that can only be entered after our FIN was queued (it took one sequence number). */
const FIN_SENT_STATES = new Set([TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_CLOSING, TCP_LAST_ACK]);

export interface FinalCounts {
  bytesSent: number;
  bytesReceived: number;
  /** How many directions the kernel's figure replaced the traced one (0, 1 or 2). */
  corrections: number;
}

const U32 = 2 ** 32;

export function finalCounts(rec: CloseRecord): FinalCounts {
  const v = rec.view;
  if (!v.established || !v.hasBase) return { bytesSent: v.bytesSent, bytesReceived: v.bytesReceived, corrections: 0 };
  const finOut = FIN_SENT_STATES.has(rec.oldState) ? 1 : 0;
  // The peer's FIN after the baseline: the kernel sets finIn at close from SOCK_DONE (unless the
  // baseline already counted it); FIN_WAIT2 → CLOSE with SOCK_DONE is tcp_fin() itself.
  const finIn = v.finIn || (rec.oldState === TCP_FIN_WAIT2 && rec.sockDone) ? 1 : 0;
  const sent = reconcile(v.bytesSent, seqDelta(rec.endSnd, v.baseSnd, finOut));
  const received = reconcile(v.bytesReceived, seqDelta(rec.endRcv, v.baseRcv, finIn));
  return {
    bytesSent: sent.value,
    bytesReceived: received.value,
    corrections: (sent.corrected ? 1 : 0) + (received.corrected ? 1 : 0),
  };
}

function seqDelta(end: number, base: number, fin: number): number {
  return (((end - base - fin) % U32) + U32) % U32;
}

/**
 * Sequence numbers are 32 bits: the kernel's figure is the traced one modulo 2^32 when they agree.
 * When they differ, the difference (taken the short way round the circle) is added.
 */
function reconcile(traced: number, kernel32: number): { value: number; corrected: boolean } {
  const diff = (((kernel32 - (traced % U32)) % U32) + U32) % U32;
  if (diff === 0) return { value: traced, corrected: false };
  const signed = diff >= U32 / 2 ? diff - U32 : diff;
  return { value: Math.max(0, traced + signed), corrected: true };
}
