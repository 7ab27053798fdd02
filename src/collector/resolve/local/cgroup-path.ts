// Container id and runtime from a cgroup path. Pure: the layouts below are what containerd, CRI-O,
// Docker and Podman write under cgroup v1 and v2, with the systemd and the cgroupfs drivers.

export interface CgroupContainer {
  /** Full 64-hex container id. */
  id: string;
  /** containerd, cri-o, docker, podman; absent where the layout does not say (bare kubepods ids). */
  runtime?: string;
  /** Kubernetes pod UID when the path is under kubepods. */
  podUid?: string;
}

const ID = '([0-9a-f]{64})';
// A scope or directory name → runtime. Order matters: `crio-conmon-` is CRI-O's monitor, not the container.
const SEGMENT_PATTERNS: [RegExp, string | undefined][] = [
  [new RegExp(`^cri-containerd-${ID}\\.scope$`), 'containerd'],
  [new RegExp(`^crio-${ID}(?:\\.scope)?$`), 'cri-o'],
  [new RegExp(`^docker-${ID}\\.scope$`), 'docker'],
  [new RegExp(`^libpod-${ID}(?:\\.scope)?$`), 'podman'],
  [new RegExp(`^nerdctl-${ID}\\.scope$`), 'containerd'],
];

const POD_SEGMENT = /^(?:kubepods(?:-[a-z]+)?-)?pod([0-9a-f_-]{36})(?:\.slice)?$/;

export function parseCgroupPath(path: string): CgroupContainer | undefined {
  const segments = path.split('/').filter((s) => s.length > 0);
  let podUid: string | undefined;
  for (const s of segments) {
    const pod = POD_SEGMENT.exec(s);
    if (pod) podUid = pod[1]!.replace(/_/g, '-');
  }
  // The innermost segment that names a container wins (nested cgroups sit below it).
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i]!;
    for (const [re, runtime] of SEGMENT_PATTERNS) {
      const m = re.exec(s);
      if (m) return withPod({ id: m[1]!, runtime }, podUid);
    }
    if (/^[0-9a-f]{64}$/.test(s)) {
      const parent = segments[i - 1];
      // cgroupfs driver: /docker/<id>, /kubepods/<qos>/pod<uid>/<id> (containerd or dockershim alike).
      if (parent === 'docker') return withPod({ id: s, runtime: 'docker' }, podUid);
      return withPod({ id: s }, podUid);
    }
  }
  return undefined;
}

function withPod(c: CgroupContainer, podUid: string | undefined): CgroupContainer {
  if (c.runtime === undefined) delete c.runtime;
  if (podUid) c.podUid = podUid;
  return c;
}

/**
 * The cgroup path of a process from the text of /proc/PID/cgroup: the v2 line (`0::/path`) when
 * there is one, else the v1 line that names a container.
 */
export function parseProcCgroup(text: string): string | undefined {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const paths = lines.map((l) => {
    const first = l.indexOf(':');
    const second = l.indexOf(':', first + 1);
    return { hierarchy: l.slice(0, first), path: second >= 0 ? l.slice(second + 1) : '' };
  });
  const named = paths.find((p) => parseCgroupPath(p.path));
  if (named) return named.path;
  return paths.find((p) => p.hierarchy === '0')?.path;
}
