// Names come from process names, DNS answers and interface names, which anyone on the host (or a
// DNS server) can choose: a table or watch line must not carry their control characters to the
// terminal, where an escape sequence would be obeyed and a newline would break the layout.
import { describe, expect, it } from 'vitest';
import { changeLine, flowsTable, linksTable } from '../../src/cli/format.js';
import { flow } from '../helpers/records.js';
import { linkRecord } from '../helpers/fake-collector.js';

const hostile = ['esc\x1b[2J\x1b]0;title\x07', 'new\nline\ttab\r', 'del\x7f c1\x9b31m', 'bidi\u202egnp.exe'];
// Controls other than the newlines between rows, and the bidirectional overrides.
const unsafe = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;

describe('names in terminal output', () => {
  it('shows control characters as escapes in tables and watch lines', () => {
    const links = hostile.map((name, i) => linkRecord(i + 1, name));
    const table = linksTable(links);
    expect(table.split('\n')).toHaveLength(links.length + 1);
    for (const line of table.split('\n')) expect(line).not.toMatch(unsafe);
    expect(table).toContain('esc\\x1b[2J\\x1b]0;title\\x07');
    expect(table).toContain('new\\nline\\ttab\\r');
    expect(table).toContain('bidi\\u202egnp.exe');
    for (const r of links) expect(changeLine('added', r, new Date(0))).not.toMatch(unsafe);

    const flows = hostile.map((name, i) => flow(i + 1, { interface: name, srcEndpoint: { ip: '10.51.0.1', name } }));
    const ft = flowsTable(flows);
    expect(ft.split('\n')).toHaveLength(flows.length + 1);
    for (const line of ft.split('\n')) expect(line).not.toMatch(unsafe);
    for (const r of flows) expect(changeLine('changed', r, new Date(0))).not.toMatch(unsafe);
  });

  it('leaves printable names, accents and scripts alone', () => {
    const table = linksTable([linkRecord(1, 'café 日本 \u{1F600} "q" \\b')]);
    expect(table).toContain('(café 日本 \u{1F600} "q" \\b)');
  });
});
