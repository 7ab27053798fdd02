// Splits a byte stream into lines with a bound: at most `maxBytes` are ever held, and a longer
// line is dropped whole (through its newline) with one report, so a peer that never sends a
// newline cannot make this side grow.
export class LineReader {
  private chunks: Buffer[] = [];
  private held = 0;
  /** Inside a line that was too long: everything up to its newline is thrown away. */
  private skipping = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onTooLong: (bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl >= 0; nl = chunk.indexOf(10, from)) {
      const part = chunk.subarray(from, nl);
      from = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      if (this.held + part.length > this.maxBytes) {
        this.drop(this.held + part.length);
        this.skipping = false;
        continue;
      }
      const line = this.chunks.length === 0 ? part.toString('utf8') : Buffer.concat([...this.chunks, part]).toString('utf8');
      this.chunks = [];
      this.held = 0;
      this.onLine(line);
    }
    const rest = chunk.subarray(from);
    if (this.skipping || rest.length === 0) return;
    if (this.held + rest.length > this.maxBytes) {
      this.drop(this.held + rest.length);
      return;
    }
    // Copied: the stream may reuse its chunk's memory.
    this.chunks.push(Buffer.from(rest));
    this.held += rest.length;
  }

  private drop(bytes: number): void {
    this.chunks = [];
    this.held = 0;
    this.skipping = true;
    this.onTooLong(bytes);
  }
}
