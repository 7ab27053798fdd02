// What --interfaces asked for that nothing matches at start, in words for the start log: the
// collector keeps watching for it, but a mistyped name would otherwise leave the flows table
// empty without a word.
import { existsSync } from 'node:fs';
import { matchesPattern, type InterfaceSpec } from './spec.js';

export function unmatchedInterfaces(spec: InterfaceSpec, watched: readonly { name: string; netns?: string }[], netnsExists = (ns: string) => existsSync(`/run/netns/${ns}`)): string[] {
  if (spec.defaultRoute) return watched.length ? [] : ['no default route, so no interface to watch (name some with --interfaces)'];
  const out: string[] = [];
  for (const p of spec.patterns) {
    const label = p.netns ? `${p.netns}:${p.pattern}` : p.pattern;
    if (p.netns && !netnsExists(p.netns)) out.push(`"${label}": no network namespace ${p.netns} in /run/netns yet`);
    else if (!watched.some((i) => i.netns === p.netns && matchesPattern(i.name, p.pattern))) out.push(`"${label}": no interface matches yet`);
  }
  return out;
}
