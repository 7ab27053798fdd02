// `weft-collector` (the same main() as src/collector/cli.ts) over memory tables holding the links
// given as JSON in WEFT_TEST_LINKS: the command, flags, token and signals without the kernel.
import { main } from '../../src/collector/main.js';
import { MemoryTable } from '../../src/collector/tables/memory-table.js';
import type { FlowRecord, LinkRecord } from '../../src/protocol/index.js';
import { FEATURES } from './server.js';

const links = new MemoryTable<LinkRecord>(JSON.parse(process.env.WEFT_TEST_LINKS ?? '[]') as LinkRecord[]);
const flows = new MemoryTable<FlowRecord>();

main(process.argv, async () => ({
  links,
  flows,
  features: FEATURES,
  health: { links: () => ({ links: links.size() }) },
  close: () => console.log('test tables closed'),
})).catch((e: Error) => {
  console.error(`weft-collector: ${e.message}`);
  process.exitCode = 1;
});
