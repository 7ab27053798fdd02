// What the running kernel offers, found by trying it (a ring buffer map, a tcx link in a
// throwaway namespace, the stats switch) rather than by comparing version numbers.
import { existsSync, readFileSync } from 'node:fs';
import { native } from './native.js';
import type { KernelFeatures } from '../../protocol/index.js';

const BPF_PROG_TYPE_KPROBE = 2;
const TRACEFS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

let tcx: boolean | undefined;

/** Whether tcx links work here; probed once per process. */
export function probeTcx(): boolean {
  tcx ??= native().probeTcx();
  return tcx;
}

/** Mounts tracefs at /sys/kernel/tracing when nothing did: tracepoints are attached by its ids. */
export function ensureTracefs(): void {
  native().ensureTracefs();
}

function tracepointPresent(spec: string): boolean {
  const [category, name] = spec.split(':');
  if (!category || !name) return false;
  if (TRACEFS.some((root) => existsSync(`${root}/events/${category}/${name}`))) return true;
  // Without tracefs, the kernel's BTF still names the tracepoint's record (when named after it).
  return native().vmlinuxHasStruct(`trace_event_raw_${name}`);
}

/**
 * @param tracepoints `category:name` pairs to look for, e.g. `sock:inet_sock_set_state`.
 */
export function probeKernel(tracepoints: string[] = []): KernelFeatures {
  const addon = native();
  try {
    addon.ensureTracefs();
  } catch {
    // Without tracefs the BTF fallback below still answers.
  }
  // kprobes attach through the kprobe PMU or kprobe_events; the program type alone is not enough.
  const kprobeAttach =
    existsSync('/sys/bus/event_source/devices/kprobe/type') || TRACEFS.some((root) => existsSync(`${root}/kprobe_events`));
  return {
    kernelRelease: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    btf: existsSync('/sys/kernel/btf/vmlinux'),
    ringbuf: addon.probeRingbuf(),
    tcx: probeTcx(),
    bpfStats: addon.probeBpfStats(),
    kprobes: kprobeAttach && addon.probeProgType(BPF_PROG_TYPE_KPROBE),
    tracepoints: Object.fromEntries(tracepoints.map((t) => [t, tracepointPresent(t)])),
  };
}
