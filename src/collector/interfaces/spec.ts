// The --interfaces flag: `eth0,veth*`, optionally `NETNS:PATTERN` for interfaces inside a named
// network namespace (/run/netns/NETNS). Empty = the interface of the default route.

export interface InterfacePattern {
  /** Named network namespace, absent = the collector's own. */
  netns?: string;
  pattern: string;
}

export interface InterfaceSpec {
  /** True when no pattern was given: follow the default-route interface. */
  defaultRoute: boolean;
  patterns: InterfacePattern[];
}

const NAME = /^[A-Za-z0-9_.@*?+-]{1,15}$/;
const NETNS = /^[A-Za-z0-9_.-]{1,64}$/;

export function parseInterfaceSpec(spec: string | undefined): InterfaceSpec {
  const parts = (spec ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) return { defaultRoute: true, patterns: [] };
  const patterns = parts.map((part): InterfacePattern => {
    const colon = part.indexOf(':');
    const netns = colon >= 0 ? part.slice(0, colon) : undefined;
    const pattern = colon >= 0 ? part.slice(colon + 1) : part;
    if (netns !== undefined && !NETNS.test(netns)) throw new Error(`interfaces: "${part}": "${netns}" is not a network namespace name`);
    if (!NAME.test(pattern)) throw new Error(`interfaces: "${part}": "${pattern}" is not an interface name or pattern (letters, digits, _.-@, * and ?; at most 15)`);
    return netns === undefined ? { pattern } : { netns, pattern };
  });
  return { defaultRoute: false, patterns };
}

/** Shell-style wildcard match: `*` any run, `?` one character. */
export function matchesPattern(name: string, pattern: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\@-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(name);
}
