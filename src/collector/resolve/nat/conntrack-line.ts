// Parses the lines of `conntrack -L -o extended` and `conntrack -E -o extended`: one connection per
// line with its original tuple (as the client sent it) and its reply tuple (as the server answers,
// after NAT). Lines it cannot read give undefined.

export interface Tuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

export interface ConntrackEntry {
  event?: 'new' | 'update' | 'destroy';
  protocol: 'tcp' | 'udp';
  original: Tuple;
  reply: Tuple;
}

const EVENTS: Record<string, ConntrackEntry['event']> = { '[NEW]': 'new', '[UPDATE]': 'update', '[DESTROY]': 'destroy' };

export function parseConntrackLine(line: string): ConntrackEntry | undefined {
  const tokens = line.trim().split(/\s+/);
  const event = EVENTS[tokens[0] ?? ''];
  const protocol = tokens.find((t) => t === 'tcp' || t === 'udp') as 'tcp' | 'udp' | undefined;
  if (!protocol) return undefined;
  const tuples: Partial<Record<keyof Tuple, string>>[] = [];
  for (const t of tokens) {
    const eq = t.indexOf('=');
    if (eq < 0) continue;
    const key = t.slice(0, eq);
    if (key !== 'src' && key !== 'dst' && key !== 'sport' && key !== 'dport') continue;
    // Each tuple starts again with src=.
    if (key === 'src') tuples.push({});
    const cur = tuples[tuples.length - 1];
    if (cur) cur[key] = t.slice(eq + 1);
  }
  const [o, r] = tuples.map(toTuple);
  if (!o || !r) return undefined;
  const entry: ConntrackEntry = { protocol, original: o, reply: r };
  if (event) entry.event = event;
  return entry;
}

function toTuple(t: Partial<Record<keyof Tuple, string>>): Tuple | undefined {
  const sport = Number(t.sport);
  const dport = Number(t.dport);
  if (!t.src || !t.dst || !Number.isInteger(sport) || !Number.isInteger(dport)) return undefined;
  return { src: t.src, dst: t.dst, sport, dport };
}

/** True when the connection's destination was rewritten (DNAT: the reply comes from elsewhere). */
export function isDnat(e: ConntrackEntry): boolean {
  return e.reply.src !== e.original.dst || e.reply.sport !== e.original.dport;
}
