// The kernel side of the collector: load BPF objects, attach them, read their maps and ring
// buffers. See docs/kernel.md.
export * from './types.js';
export { openObject, type KernelObject, type RingBufferOptions } from './bpf-object.js';
export { KernelMap } from './bpf-map.js';
export { probeKernel, probeTcx, ensureTracefs } from './probe.js';
export { enableStats, type StatsHandle } from './stats.js';
export { cleanupStaleTc, type TcCleanupResult } from './tc-cleanup.js';
export { TC_STATE_DIR, WEFT_TC_HANDLE, WEFT_TC_FIRST_PRIORITY, WEFT_TC_PRIORITIES } from './tc-state.js';
export { defineStruct, type StructLayout, type FieldSpec, type FieldType, type Decoded, type StructField } from './struct-layout.js';
export { kernelError } from './errors.js';
