#!/usr/bin/env node
// `weft-collector` over the kernel's tables. Flags: `weft-collector --help`, docs/collector.md.
import { main } from './main.js';
import { openKernelTables } from './tables/kernel-tables.js';

main(process.argv, openKernelTables).catch((e: Error) => {
  console.error(`weft-collector: ${e.message}`);
  process.exitCode = 1;
});
