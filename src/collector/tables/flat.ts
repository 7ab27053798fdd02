// Keys the tables keep for every link and connection, built as flat strings.

/**
 * The parts as one flat string. A template literal leaves a tree of V8 cons strings, about 190
 * bytes for a link id against 70 flat, and it lives as long as the key is kept. A single part is
 * handed back as it is (join does not copy it), cons or not.
 */
export function flat(...parts: (string | number | bigint | undefined)[]): string {
  return parts.join('');
}
