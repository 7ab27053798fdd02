// The HTTP side and the `weft` command: /metrics parses with promtool and answers a Caretta
// dashboard query, /healthz reports what the health providers say, history over GET, and
// `weft links --json` prints exact bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowRecord, LinkRecord } from '../../src/protocol/index.js';
import { flow, link } from '../helpers/records.js';
import { TOKEN, sleep, startTestServer, type TestServer } from '../helpers/server.js';
import { History } from '../../src/collector/tables/history.js';
import { flowFigures, linkFigures } from '../../src/collector/tables/history-figures.js';

const auth = { authorization: `Bearer ${TOKEN}` };
let t: TestServer;
let dir: string;
let healthy = true;
const history = { links: new History(linkFigures, { resolutionMs: 10_000 }, Date.now() - 60_000), flows: new History(flowFigures, {}, Date.now() - 60_000) };

const shop = (name: string, over: Partial<LinkRecord['client']> = {}): LinkRecord['client'] => ({ ip: `10.51.1.${name.length}`, name, pod: `${name}-1`, namespace: 'shop', kind: 'pod', ...over });
const A = link(1, { client: shop('cart', { pid: 10 }), server: shop('redis', { port: 6379 }), bytesSent: 1000, bytesReceived: 5000 });
const B = link(2, { client: shop('checkout', { pid: 11 }), server: shop('redis', { port: 6379 }), bytesSent: 200, bytesReceived: 300 });
const C = link(3, { client: shop('cart'), server: shop('api', { port: 8080 }), bytesSent: 7, bytesReceived: 11 });

function weft(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/weft.ts', ...args, '--server', t.server.wsUrl, '--token-file', join(dir, 'token')], { cwd: process.cwd() });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('collector HTTP and the weft command', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-http-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    t = await startTestServer({
      history,
      health: {
        links: () => {
          if (!healthy) throw new Error('links map unreadable');
          return { attached: ['sock:inet_sock_set_state'], maps: { links: { entries: 250, max: 1000, fill: 0.25 } }, lost: { ringbuf: 3, mapFull: 0 } };
        },
        flows: () => ({ interfaces: 2, maps: { flows: { fill: 0.5 } } }),
      },
    });
    t.links.upsert([A, B, C]);
  });
  afterAll(async () => {
    await t?.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /metrics that promtool accepts and that answers the Caretta dashboard query', async () => {
    const r = await fetch(`${t.server.httpUrl}/metrics`, { headers: auth });
    expect(r.status).toBe(200);
    const text = await r.text();
    writeFileSync(join(dir, 'scrape.prom'), text);
    execFileSync('sh', ['-c', `promtool check metrics < ${join(dir, 'scrape.prom')}`], { stdio: 'pipe' });

    const series = text.split('\n').filter((l) => l.startsWith('caretta_links_observed{'));
    expect(series).toHaveLength(3);
    const labelsOf = (line: string): Record<string, string> => Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    const cart = series.map(labelsOf).find((l) => l.client_name === 'cart' && l.server_name === 'redis')!;
    expect(Object.keys(cart).sort()).toEqual(['client_id', 'client_kind', 'client_name', 'client_namespace', 'link_id', 'role', 'server_id', 'server_kind', 'server_name', 'server_namespace', 'server_port']);
    expect(cart).toMatchObject({ client_kind: 'pod', client_namespace: 'shop', server_kind: 'pod', server_namespace: 'shop', server_port: '6379', role: '1' });
    // Caretta's ids: FNV-1a of name + namespace (fnv32a("redisshop")), link id adds the role.
    expect(cart.server_id).toBe('1049853160');
    expect(series.find((l) => l.includes('client_name="cart"') && l.includes('server_name="redis"'))).toMatch(/ 6000$/);
    const input = series.map((l) => {
      const [labels, value] = [l.slice(0, l.lastIndexOf(' ')), l.slice(l.lastIndexOf(' ') + 1)];
      return `      - series: '${labels}'\n        values: '${value} ${value}'`;
    });
    writeFileSync(join(dir, 'rules.yml'), 'groups:\n  - name: caretta\n    rules:\n      - record: server_name:caretta_links_observed:sum\n        expr: sum by (server_name) (caretta_links_observed)\n');
    writeFileSync(
      join(dir, 'test.yml'),
      [
        'rule_files: [rules.yml]',
        'evaluation_interval: 1m',
        'tests:',
        '  - interval: 1m',
        '    input_series:',
        ...input,
        '    promql_expr_test:',
        '      - expr: sum by (server_name) (caretta_links_observed)',
        '        eval_time: 1m',
        '        exp_samples:',
        `          - labels: '{server_name="redis"}'`,
        `            value: ${A.bytesSent + A.bytesReceived + B.bytesSent + B.bytesReceived}`,
        `          - labels: '{server_name="api"}'`,
        `            value: ${C.bytesSent + C.bytesReceived}`,
        '    alert_rule_test: []',
        '',
      ].join('\n'),
    );
    const out = execFileSync('promtool', ['test', 'rules', 'test.yml'], { cwd: dir, encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS/);
    // A wrong expectation fails: the check can tell answers apart.
    writeFileSync(join(dir, 'wrong.yml'), (await import('node:fs')).readFileSync(join(dir, 'test.yml'), 'utf8').replace(`value: ${C.bytesSent + C.bytesReceived}`, 'value: 19'));
    expect(() => execFileSync('promtool', ['test', 'rules', 'wrong.yml'], { cwd: dir, stdio: 'pipe' })).toThrow();

    expect(text).toMatch(/weft_component\{component="links",fact="maps_links_fill"\} 0.25/);
    expect(text).toMatch(/weft_component\{component="links",fact="lost_ringbuf"\} 3/);
    expect(text).toMatch(/weft_table_records\{table="links"\} 3/);
  });

  it('reports on /healthz what the health providers give, and 503 when one fails', async () => {
    const r = await fetch(`${t.server.httpUrl}/healthz`);
    expect(r.status).toBe(200);
    const h = (await r.json()) as Record<string, any>;
    expect(h.status).toBe('ok');
    expect(h.components.links).toEqual({ attached: ['sock:inet_sock_set_state'], maps: { links: { entries: 250, max: 1000, fill: 0.25 } }, lost: { ringbuf: 3, mapFull: 0 } });
    expect(h.components.flows).toEqual({ interfaces: 2, maps: { flows: { fill: 0.5 } } });
    expect(h.tables).toEqual({ links: 3, flows: 0 });
    expect(h.features.kernelRelease).toBe('test');
    healthy = false;
    const bad = await fetch(`${t.server.httpUrl}/healthz`);
    healthy = true;
    expect(bad.status).toBe(503);
    expect(((await bad.json()) as Record<string, any>).components.links).toEqual({ error: 'links map unreadable' });
  });

  it('answers /api/status and /api/links with filters, aggregation and a history range', async () => {
    const status = (await (await fetch(`${t.server.httpUrl}/api/status`, { headers: auth })).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ protocol: 1, node: 'test-node', tables: { links: 3, flows: 0 } });
    const now = (await (await fetch(`${t.server.httpUrl}/api/links?port=6379&aggregate=namespace`, { headers: auth })).json()) as { records: LinkRecord[] };
    expect(now.records.map((r) => [r.id, r.bytesSent, r.bytesReceived])).toEqual([['namespace:shop>namespace:shop:tcp/6379', 1200, 5300]]);

    const t0 = Date.now();
    history.links.sample(t.links.records(), t0 - 20_000);
    t.links.upsert([{ ...A, bytesSent: A.bytesSent + 40, bytesReceived: A.bytesReceived + 2 }]);
    history.links.sample(t.links.records(), t0 - 10_000);
    const moved = (await (await fetch(`${t.server.httpUrl}/api/links?from=${t0 - 15_000}&to=${t0}`, { headers: auth })).json()) as { records: LinkRecord[] };
    expect(moved.records.map((r) => [r.id, r.bytesSent, r.bytesReceived])).toEqual([[A.id, 40, 2]]);
    t.links.upsert([A]);
  });

  it('prints links with exact bytes as JSON, and as a table', async () => {
    const r = await weft(['links', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const records = JSON.parse(r.stdout) as LinkRecord[];
    expect(records.map((x) => [x.id, x.client.name, x.server.name, x.server.port, x.bytesSent, x.bytesReceived])).toEqual([
      [A.id, 'cart', 'redis', 6379, 1000, 5000],
      [B.id, 'checkout', 'redis', 6379, 200, 300],
      [C.id, 'cart', 'api', 8080, 7, 11],
    ]);
    const filtered = JSON.parse((await weft(['links', '--json', '--port', '8080'])).stdout) as LinkRecord[];
    expect(filtered.map((x) => x.id)).toEqual([C.id]);
    const tableOut = await weft(['links']);
    expect(tableOut.stdout.split('\n')[0]).toMatch(/^CLIENT\s+SERVER\s+PROTO\s+SENT\s+RECEIVED/);
    expect(tableOut.stdout).toMatch(/10\.51\.1\.4 \(shop\/cart-1\)\s+10\.51\.1\.5:6379 \(shop\/redis-1\)\s+tcp\s+1000 B\s+4\.9 KiB\s+1\/0\/0/);
  });

  it('prints flows, and what moved in a time range', async () => {
    t.flows.upsert([flow(4, { interface: 'veth51', bytes: 600, packets: 7, payloadBytes: 250 })]);
    const flows = JSON.parse((await weft(['flows', '--json', '--interface', 'veth51'])).stdout) as FlowRecord[];
    expect(flows.map((f) => [f.id, f.packets, f.bytes, f.payloadBytes])).toEqual([['f000004', 7, 600, 250]]);
    expect((await weft(['flows'])).stdout).toMatch(/^INTERFACE\s+DIR\s+SOURCE[^]*veth51\s+egress\s+10\.51\.0\.4:40004\s+10\.51\.255\.1:8080\s+tcp\s+7\s+600 B\s+250 B\s+PSH,ACK/);
    // Two samples settle the earlier tests' changes into intervals that end before the range.
    const now = Date.now();
    history.links.sample(t.links.records(), now - 1500);
    history.links.sample(t.links.records(), now - 1000);
    t.links.upsert([{ ...B, bytesSent: B.bytesSent + 9 }]);
    const moved = JSON.parse((await weft(['links', '--json', '--from', '-1s', '--to', 'now'])).stdout) as LinkRecord[];
    expect(moved.map((r) => [r.id, r.bytesSent, r.bytesReceived])).toEqual([[B.id, 9, 0]]);
    t.links.upsert([B]);
  });

  it('says clearly when the token is wrong', async () => {
    writeFileSync(join(dir, 'token'), 'not-the-token-at-all\n');
    const r = await weft(['links']);
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/weft: wrong token \(close 4401\)/);
  });

  it('follows changes live with weft watch', async () => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/weft.ts', 'watch', 'links', '--server', t.server.wsUrl, '--token-file', join(dir, 'token')]);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    const until = async (re: RegExp): Promise<void> => {
      for (let i = 0; i < 100 && !re.test(out); i++) await sleep(100);
      expect(out).toMatch(re);
    };
    try {
      await until(/\+ 10\.51\.1\.4 \(shop\/cart-1\) -> 10\.51\.1\.5:6379 \(shop\/redis-1\) tcp sent 1000 B/);
      t.links.upsert([link(9, { client: shop('search', { pid: 12 }), server: shop('api', { port: 8080 }), bytesSent: 5, bytesReceived: 6 })]);
      await until(/\+ 10\.51\.1\.6 \(shop\/search-1\) -> 10\.51\.1\.3:8080 \(shop\/api-1\) tcp sent 5 B received 6 B/);
      t.links.remove([link(9).id]);
      await until(/- 10\.51\.1\.6 \(shop\/search-1\) -> 10\.51\.1\.3:8080/);
    } finally {
      p.kill('SIGINT');
    }
  });
});
