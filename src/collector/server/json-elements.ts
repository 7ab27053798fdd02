// The elements of a run of JSON values, each a slice of it. V8 makes a slice of a long string a
// small view into it, so 10,000 records cost 10,000 small objects on the heap, not a second copy of
// every byte for the young generation to move and promote.

/** The elements of `run`, values as JSON.stringify writes them joined by commas, as slices. */
export function jsonElements(run: string): string[] {
  const out: string[] = [];
  if (run.length === 0) return out;
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // '\': the next character is escaped, even a quote
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++; // '{' '['
    else if (c === 0x7d || c === 0x5d) depth--; // '}' ']'
    else if (c === 0x2c && depth === 0) {
      out.push(run.slice(start, i)); // ','
      start = i + 1;
    }
  }
  out.push(run.slice(start));
  return out;
}
