// The ConfigEditor inside a small stand-in for Grafana's data source settings page: edit, Save
// (settings go to the data source proxy stand-in, built from plugin.json), then Save & test, which
// runs the plugin's testDatasource against a real collector through that proxy.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useState } from 'react';
import { render, screen } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import type { DataSourceInstanceSettings, DataSourceSettings } from '@grafana/data';
import { ConfigEditor } from '../../src/plugin/components/ConfigEditor.js';
import { WeftDataSource } from '../../src/plugin/datasource.js';
import type { WeftOptions, WeftSecureOptions } from '../../src/plugin/types.js';
import { startGrafanaProxy, type GrafanaProxy } from '../e2e/support/grafana-proxy.js';
import { installFetchBackendSrv } from './support/fetch-backend-srv.js';
import { linkRecord, startTestCollector, type TestCollector } from './support/collector.js';

const TOKEN = 'editor-test-token-0123456789';
let collector: TestCollector;
let proxy: GrafanaProxy;
let oldProtocol: Server;
let oldProtocolUrl: string;

beforeAll(async () => {
  installFetchBackendSrv();
  collector = await startTestCollector(TOKEN, 'http://localhost:3000', [linkRecord('l1', '10.61.0.1', '10.61.0.2', 100, 200), linkRecord('l2', '10.61.0.1', '10.61.0.3', 1, 2)]);
  proxy = await startGrafanaProxy('src/plugin/plugin.json');
  // A server that speaks the documented /api/status, from a future protocol version.
  oldProtocol = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ protocol: 2, version: '9.0.0', node: 'future', features: {}, tables: { links: 0, flows: 0 } }));
  });
  await new Promise<void>((ok) => oldProtocol.listen(0, '127.0.0.1', ok));
  oldProtocolUrl = `http://127.0.0.1:${(oldProtocol.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await collector?.close();
  await proxy?.close();
  oldProtocol?.closeAllConnections();
  await new Promise((ok) => oldProtocol?.close(ok));
});

type Settings = DataSourceSettings<WeftOptions, WeftSecureOptions>;

function initialSettings(uid: string): Settings {
  return {
    id: 1,
    uid,
    orgId: 1,
    name: 'Weft',
    type: 'weft-topology-datasource',
    typeName: 'Weft topology',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    jsonData: {},
    secureJsonFields: {},
    readOnly: false,
    withCredentials: false,
  };
}

/** What Grafana's settings page does around a ConfigEditor, with the last options kept for checks. */
function SettingsPage({ uid, seen }: { uid: string; seen: Settings[] }) {
  const [options, setOptions] = useState<Settings>(initialSettings(uid));
  const [result, setResult] = useState<{ status: string; message: string }>();
  const saveAndTest = async () => {
    proxy.save({ uid, url: options.url, jsonData: options.jsonData as Record<string, unknown>, secureJsonData: options.secureJsonData as Record<string, string> });
    const instance = { uid, name: options.name, type: options.type, url: proxy.instanceUrl(uid), jsonData: options.jsonData, access: 'proxy', meta: {}, readOnly: false };
    const ds = new WeftDataSource(instance as unknown as DataSourceInstanceSettings<WeftOptions>);
    setResult(await ds.testDatasource());
    ds.dispose();
  };
  return (
    <div>
      <ConfigEditor
        options={options}
        onOptionsChange={(o) => {
          seen.push(o);
          setOptions(o);
        }}
      />
      <button onClick={saveAndTest}>Save &amp; test</button>
      {result && <div role="status" data-status={result.status}>{result.message}</div>}
    </div>
  );
}

async function setup(uid: string) {
  const seen: Settings[] = [];
  const user = userEvent.setup();
  render(<SettingsPage uid={uid} seen={seen} />);
  return { user, seen, last: () => seen[seen.length - 1]! };
}

async function saveAndTest(user: ReturnType<typeof userEvent.setup>) {
  await user.click(screen.getByRole('button', { name: 'Save & test' }));
  return screen.findByRole('status', {}, { timeout: 8000 });
}

describe('ConfigEditor', () => {
  it('changes the options with each control', async () => {
    const { user, last } = await setup('ds-controls');
    await user.type(screen.getByPlaceholderText('http://weft-collector:7070'), 'http://c:7317');
    expect(last().url).toBe('http://c:7317');
    expect(last().access).toBe('proxy');
    expect(screen.queryByPlaceholderText('wss://weft.example.com:7070')).not.toBeInTheDocument();
    await user.click(screen.getByLabelText('Direct'));
    expect(last().jsonData.access).toBe('direct');
    await user.type(screen.getByPlaceholderText('wss://weft.example.com:7070'), 'wss://w:1');
    expect(last().jsonData.directUrl).toBe('wss://w:1');
    await user.type(screen.getByPlaceholderText('collector token'), 'abc');
    expect(last().secureJsonData?.token).toBe('abc');
    await user.click(screen.getByLabelText('Through Grafana'));
    expect(last().jsonData.access).toBe('proxy');
    expect(last().url).toBe('http://c:7317');
  });

  it('Save & test shows the collector version, kernel features and table sizes', async () => {
    const { user } = await setup('ds-ok');
    await user.type(screen.getByPlaceholderText('http://weft-collector:7070'), collector.httpUrl);
    await user.type(screen.getByPlaceholderText('collector token'), TOKEN);
    const status = await saveAndTest(user);
    expect(status).toHaveAttribute('data-status', 'success');
    expect(status.textContent).toMatch(/^Connected to weft-collector \d+\.\d+\.\d+ on \S+ \(protocol 1\)\. /);
    expect(status.textContent).toContain('Kernel 6.18.0-test: BTF yes, ring buffer yes, tcx yes, kprobes no, tracepoints 2/3.');
    expect(status.textContent).toContain('Tables: 2 links, 0 flows.');
    expect(status.textContent).toContain("Live updates work through Grafana's data source proxy.");
    // The token reached the collector only through the proxy's route header.
    const forwarded = proxy.forwarded.filter((f) => f.path === '/api/status' || f.path === '/ws');
    expect(forwarded.length).toBeGreaterThanOrEqual(2);
    for (const f of forwarded) {
      expect(f.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(f.headers.origin).toBeUndefined();
    }
  });

  it('Save & test says when the token is wrong', async () => {
    const { user } = await setup('ds-bad-token');
    await user.type(screen.getByPlaceholderText('http://weft-collector:7070'), collector.httpUrl);
    await user.type(screen.getByPlaceholderText('collector token'), 'not-the-token');
    const status = await saveAndTest(user);
    expect(status).toHaveAttribute('data-status', 'error');
    expect(status).toHaveTextContent('The collector refused the token (bad token): set the same token in the data source as the collector was started with.');
  });

  it('Save & test says when the collector is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    const { user } = await setup('ds-unreachable');
    await user.type(screen.getByPlaceholderText('http://weft-collector:7070'), `http://127.0.0.1:${port}`);
    await user.type(screen.getByPlaceholderText('collector token'), TOKEN);
    const status = await saveAndTest(user);
    expect(status).toHaveAttribute('data-status', 'error');
    expect(status).toHaveTextContent('The collector is unreachable: check the collector URL and that weft-collector is running and listening there.');
  });

  it('Save & test says when the collector speaks another protocol version', async () => {
    const { user } = await setup('ds-protocol');
    await user.type(screen.getByPlaceholderText('http://weft-collector:7070'), oldProtocolUrl);
    const status = await saveAndTest(user);
    expect(status).toHaveAttribute('data-status', 'error');
    expect(status).toHaveTextContent('The collector speaks protocol version 2, this plugin speaks version 1 (wrong protocol version): upgrade the older of the two.');
  });

  it('Save & test in direct mode opens the socket with a ticket', async () => {
    const { user } = await setup('ds-direct');
    await user.type(screen.getByPlaceholderText('http://weft-collector:7070'), collector.httpUrl);
    await user.type(screen.getByPlaceholderText('collector token'), TOKEN);
    await user.click(screen.getByLabelText('Direct'));
    await user.type(screen.getByPlaceholderText('wss://weft.example.com:7070'), collector.httpUrl.replace('http:', 'ws:'));
    const status = await saveAndTest(user);
    expect(status).toHaveTextContent(`Live updates work directly at ${collector.httpUrl.replace('http:', 'ws:')}.`);
    expect(status).toHaveAttribute('data-status', 'success');
    expect(proxy.forwarded.some((f) => f.path === '/api/ticket')).toBe(true);
  });
});
