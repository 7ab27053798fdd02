// The collector service in its own process for the server bench: a memory table of BENCH_LINKS
// links, the server, and the history window, malloc trimmed as in the collector. Commands on stdin:
//   churn ROUNDS  every link changes, the history samples, ROUNDS times (10 s apart in history time)
//   stats         memory figures
// Each answer is one JSON line on stdout; the first line gives the socket and HTTP URLs.
import { createInterface } from 'node:readline';
import { trimMallocEvery } from '../../src/collector/malloc-trim.js';
import { startServer } from '../../src/collector/server/server.js';
import { History } from '../../src/collector/tables/history.js';
import { flowFigures, linkFigures } from '../../src/collector/tables/history-figures.js';
import { MemoryTable } from '../../src/collector/tables/memory-table.js';
import type { FlowRecord, LinkRecord } from '../../src/protocol/index.js';
import { link } from './records.js';
import { FEATURES, TOKEN } from './server.js';

const N = Number(process.env.BENCH_LINKS ?? 10_000);
// As the collector's server process does: malloc's free memory goes back every second.
trimMallocEvery((line) => console.error(line));
const RESOLUTION = 10_000;
const links = new MemoryTable<LinkRecord>(Array.from({ length: N }, (_, i) => link(i)));
const flows = new MemoryTable<FlowRecord>();
let historyTime = Date.now();
const history = { links: new History(linkFigures, { resolutionMs: RESOLUTION }, historyTime), flows: new History(flowFigures, {}, historyTime) };
const server = await startServer({
  host: '127.0.0.1',
  port: 0,
  token: TOKEN,
  // The bench's browser opens its sockets from this origin.
  allowedOrigins: process.env.BENCH_ORIGIN ? [process.env.BENCH_ORIGIN] : [],
  tables: { links, flows },
  history,
  health: {},
  features: FEATURES,
  version: 'bench',
  node: 'bench',
  figuresIntervalMs: Number(process.env.BENCH_FIGURES_MS ?? 2000),
  maxBufferedBytes: 64 * 1024 * 1024,
});

const mb = (b: number): number => Math.round((b / 1024 / 1024) * 10) / 10;
function stats(): Record<string, number> {
  global.gc?.();
  const m = process.memoryUsage();
  return { rssMB: mb(m.rss), heapMB: mb(m.heapUsed), maxRssMB: mb(process.resourceUsage().maxRSS * 1024), historyMB: mb(history.links.bytes()), intervals: history.links.layout().length };
}

console.log(JSON.stringify({ url: server.wsUrl, httpUrl: server.httpUrl, links: N }));
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'churn') {
    const t0 = performance.now();
    for (let round = 1; round <= Number(arg); round++) {
      // New record objects each round, as a table fed by the kernel produces them.
      links.replace(links.records().map((r) => ({ ...r, bytesSent: r.bytesSent + round, bytesReceived: r.bytesReceived + 2 * round, lastSeen: r.lastSeen + RESOLUTION })));
      historyTime += RESOLUTION;
      history.links.sample(links.records(), historyTime);
      await yieldToLoop();
    }
    console.log(JSON.stringify({ churnMs: Math.round(performance.now() - t0), ...stats() }));
  } else if (cmd === 'stats') {
    console.log(JSON.stringify(stats()));
  } else if (cmd === 'quit') {
    await server.close();
    process.exit(0);
  }
}
