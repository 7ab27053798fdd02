// The provisioning files and plugin.json agree with each other and with what the plugin accepts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AGGREGATION_LEVELS } from '../../src/protocol/index.js';

const plugin = JSON.parse(readFileSync('src/plugin/plugin.json', 'utf8'));
const dashboard = JSON.parse(readFileSync('provisioning/dashboards/weft-topology.json', 'utf8'));
const datasourceYaml = readFileSync('provisioning/datasources/weft.yaml', 'utf8');

describe('plugin.json', () => {
  it('declares a streaming data source for Grafana 12 and 13 with a token-injecting route per collector path', () => {
    expect(plugin).toMatchObject({ id: 'weft-topology-datasource', type: 'datasource', streaming: true, backend: false });
    expect(plugin.dependencies.grafanaDependency).toBe('>=12.0.0');
    expect(plugin.info.logos.small).toBe('img/logo.svg');
    expect(readFileSync('src/plugin/img/logo.svg', 'utf8')).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(plugin.routes.map((r: { path: string }) => r.path)).toEqual(['api', 'ws']);
    for (const r of plugin.routes) {
      expect(r.headers).toEqual([{ name: 'Authorization', content: 'Bearer {{ .SecureJsonData.token }}' }]);
      // No url: Grafana keeps the data source URL and the full path, so /api/status stays /api/status.
      expect(r.url).toBeUndefined();
    }
  });
});

describe('provisioning', () => {
  it('provisions the data source by the plugin id with uid weft and the token as a secure field', () => {
    expect(datasourceYaml).toMatch(/^\s+type: weft-topology-datasource$/m);
    expect(datasourceYaml).toMatch(/^\s+uid: weft$/m);
    expect(datasourceYaml).toMatch(/^\s+secureJsonData:\n\s+token: \$\{WEFT_TOKEN\}$/m);
  });

  it('has a "Weft topology" dashboard with a Node Graph of links, a flows table and collector health stats', () => {
    expect(dashboard.title).toBe('Weft topology');
    const types = dashboard.panels.map((p: { type: string }) => p.type);
    expect(types).toContain('nodeGraph');
    expect(types).toContain('table');
    expect(types).toContain('stat');
    const targets = dashboard.panels.flatMap((p: { targets: Array<Record<string, unknown>> }) => p.targets);
    for (const t of targets) {
      expect(t.datasource).toEqual({ type: 'weft-topology-datasource', uid: 'weft' });
      expect(['links', 'flows', 'status']).toContain(t.table);
    }
    const graph = dashboard.panels.find((p: { type: string }) => p.type === 'nodeGraph');
    expect(graph.targets[0]).toMatchObject({ table: 'links', live: true, aggregate: '$level', filter: { namespace: '$namespace' } });
    const level = dashboard.templating.list.find((v: { name: string }) => v.name === 'level');
    expect(level.query.split(',')).toEqual(AGGREGATION_LEVELS);
  });
});
