// The elements of a JSON array text, each a slice of it. V8 makes a slice of a long string a small
// view into it, so 10,000 records cost 10,000 small objects on the heap, not a second copy of
// every byte for the young generation to move and promote.

/** The elements of `json`, an array as JSON.stringify writes it (no whitespace), as slices. */
export function jsonElements(json: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 1;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // '\': the next character is escaped, even a quote
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++; // '{' '['
    else if (c === 0x7d || c === 0x5d) {
      // '}' ']': the array's own closing bracket ends the last element
      if (--depth === 0 && i > start) out.push(json.slice(start, i));
    } else if (c === 0x2c && depth === 1) {
      out.push(json.slice(start, i)); // ','
      start = i + 1;
    }
  }
  return out;
}
