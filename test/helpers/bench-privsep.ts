// `weft-collector` (main(), privilege separation on unless --no-privsep is passed) over a memory
// table of BENCH_LINKS links, for the privsep bench. Commands on stdin, one JSON answer per line:
//   add N    a new link (server port 9999) appears
//   churn    every link changes
//   cpu      CPU milliseconds used so far by this process and by its server process, if any
//   stats    RSS of this process and of its server process, if any
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { main } from '../../src/collector/main.js';
import { MemoryTable } from '../../src/collector/tables/memory-table.js';
import type { FlowRecord, LinkRecord } from '../../src/protocol/index.js';
import { link } from './records.js';
import { FEATURES } from './server.js';

const N = Number(process.env.BENCH_LINKS ?? 100_000);
const links = new MemoryTable<LinkRecord>(Array.from({ length: N }, (_, i) => link(i)));
const flows = new MemoryTable<FlowRecord>();

let url = '';
await main(process.argv, async () => ({ links, flows, features: FEATURES, health: {}, close: () => undefined }), (line) => {
  url ||= /WebSocket (ws:\/\/[^\s,)]+)/.exec(line)?.[1] ?? '';
});
console.log(JSON.stringify({ url }));

const rssMB = (pid: number | 'self'): number => Math.round(Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 102.4) / 10;
const children = (): number[] => readdirSync('/proc/self/task').flatMap((t) => readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
/** utime + stime of a process, in milliseconds (clock ticks are 10 ms on Linux). */
const cpuMs = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};

let round = 0;
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'add') {
    const base = link(N + Number(arg));
    links.upsert([{ ...base, server: { ...base.server, port: 9999 } }]);
    console.log('{}');
  } else if (cmd === 'churn') {
    round += 1;
    links.replace(links.records().map((r) => ({ ...r, bytesSent: r.bytesSent + round, lastSeen: r.lastSeen + 1000 })));
    console.log('{}');
  } else if (cmd === 'cpu') {
    const kids = children();
    console.log(JSON.stringify({ parentMs: cpuMs(process.pid), serverMs: kids.length ? cpuMs(kids[0]!) : 0 }));
  } else if (cmd === 'stats') {
    global.gc?.();
    const kids = children();
    console.log(JSON.stringify({ parentMB: rssMB('self'), serverMB: kids.length ? rssMB(kids[0]!) : 0 }));
  }
}
