import { describe, expect, it } from 'vitest';
import { finalCounts } from '../../src/collector/tables/links-accounting.js';
import { closed, view } from '../helpers/links-views.js';

describe('finalCounts', () => {
  it('keeps the traced bytes when the sequence numbers agree (FINs taken off)', () => {
    const v = view({ bytesSent: 1000, bytesReceived: 2000 });
    expect(finalCounts(closed(v))).toEqual({ bytesSent: 1000, bytesReceived: 2000, corrections: 0 });
  });

  it('takes FIN_WAIT2 without SOCK_DONE as no FIN received', () => {
    const v = view({ bytesSent: 10, bytesReceived: 20 });
    const r = closed(v, { endRcv: v.baseRcv + 20, sockDone: false });
    expect(finalCounts(r)).toEqual({ bytesSent: 10, bytesReceived: 20, corrections: 0 });
  });

  it('counts no FIN after a reset from ESTABLISHED', () => {
    const v = view({ bytesSent: 10, bytesReceived: 20 });
    const r = closed(v, { oldState: 1, endSnd: v.baseSnd + 10, endRcv: v.baseRcv + 20, skErr: 104 });
    expect(finalCounts(r)).toEqual({ bytesSent: 10, bytesReceived: 20, corrections: 0 });
  });

  it('takes the kernel figure when bytes bypassed recvmsg (splice), and counts the correction', () => {
    const v = view({ bytesSent: 100, bytesReceived: 0 });
    const r = closed({ ...v, bytesReceived: 5000 });
    expect(finalCounts({ ...r, view: { ...r.view, bytesReceived: 0 } })).toEqual({ bytesSent: 100, bytesReceived: 5000, corrections: 1 });
  });

  it('works across the 32-bit wrap of sequence numbers', () => {
    const v = view({ baseSnd: 2 ** 32 - 10, baseRcv: 2 ** 32 - 1, bytesSent: 50, bytesReceived: 70 });
    const r = closed(v);
    expect(r.endSnd).toBeLessThan(v.baseSnd);
    expect(finalCounts(r)).toEqual({ bytesSent: 50, bytesReceived: 70, corrections: 0 });
  });

  it('agrees modulo 2^32 for connections past 4 GiB', () => {
    const v = view({ bytesSent: 2 ** 32 + 5, bytesReceived: 3 });
    expect(finalCounts(closed(v))).toEqual({ bytesSent: 2 ** 32 + 5, bytesReceived: 3, corrections: 0 });
  });

  it('leaves failed connects and views without a baseline alone', () => {
    const failed = view({ established: false, hasBase: false });
    expect(finalCounts(closed(failed, { oldState: 2, endSnd: 77, endRcv: 99 }))).toEqual({ bytesSent: 0, bytesReceived: 0, corrections: 0 });
  });
});
