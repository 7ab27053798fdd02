import type { ConnView } from '../../src/collector/kernel/links-records.js';

/** Connection n, `round` bytes further each round: a client here (its own address) to a server elsewhere. */
export function openConnection(n: number, round: number, port?: number): ConnView;
