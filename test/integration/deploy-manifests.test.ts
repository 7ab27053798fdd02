// deploy/ checked offline: systemd-analyze verify for the unit; kubectl apply --dry-run=client for
// the Kubernetes manifests. kubectl needs API discovery even for a client dry run, so a small HTTP
// server on 127.0.0.1 answers discovery for the kinds the manifests use and "not found" for every
// object; kubectl itself decodes, defaults and prints the objects, which are then checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RESOURCES: Record<string, { name: string; kind: string; namespaced: boolean }[]> = {
  '/api/v1': [
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
    { name: 'secrets', kind: 'Secret', namespaced: true },
    { name: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  ],
  '/apis/apps/v1': [{ name: 'daemonsets', kind: 'DaemonSet', namespaced: true }],
  '/apis/rbac.authorization.k8s.io/v1': [
    { name: 'clusterroles', kind: 'ClusterRole', namespaced: false },
    { name: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false },
  ],
};

let discovery: Server;
let dir: string;

function discoveryAnswer(path: string): unknown {
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (path === '/apis') {
    const groups = ['apps', 'rbac.authorization.k8s.io'].map((name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' } }));
    return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  }
  const list = RESOURCES[path];
  if (list) {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: path === '/api/v1' ? 'v1' : path.slice('/apis/'.length),
      resources: list.map((r) => ({ ...r, singularName: r.kind.toLowerCase(), verbs: ['create', 'get', 'list', 'patch', 'update', 'delete'] })),
    };
  }
  return undefined;
}

describe('deploy/', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-deploy-'));
    discovery = createServer((req, res) => {
      const body = discoveryAnswer(new URL(req.url ?? '/', 'http://x').pathname);
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' }));
    });
    await new Promise<void>((r) => discovery.listen(0, '127.0.0.1', () => r()));
    const port = (discovery.address() as AddressInfo).port;
    writeFileSync(
      join(dir, 'kubeconfig'),
      `apiVersion: v1\nkind: Config\nclusters:\n- name: offline\n  cluster:\n    server: http://127.0.0.1:${port}\ncontexts:\n- name: offline\n  context:\n    cluster: offline\n    user: nobody\nusers:\n- name: nobody\n  user: {}\ncurrent-context: offline\n`,
    );
  });
  afterAll(() => {
    discovery?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has a systemd unit that systemd-analyze verifies', () => {
    const r = spawnSync('systemd-analyze', ['verify', 'deploy/weft.service'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const unit = readFileSync('deploy/weft.service', 'utf8');
    expect(unit).toMatch(/^CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_SETUID CAP_SETGID CAP_SETPCAP$/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    expect(unit).toMatch(/^ExecStart=.*lib\/collector\/cli\.js --token-file \/var\/lib\/weft\/token$/m);
    // A broken unit is refused: the check can fail.
    writeFileSync(join(dir, 'broken.service'), unit.replace('[Service]', '[Service]\nKillSignal=SIGNOPE'));
    expect(spawnSync('systemd-analyze', ['verify', join(dir, 'broken.service')], { encoding: 'utf8' }).stderr).toMatch(/Failed to parse signal name/);
  });

  it('has Kubernetes manifests kubectl accepts: host network and PID, named capabilities, no privileged, a token Secret', async () => {
    // Asynchronous: the discovery server lives in this process.
    const { stdout: out } = await promisify(execFile)('kubectl', ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), 'apply', '--dry-run=client', '--validate=false', '-f', 'deploy/kubernetes/', '-o', 'json'], { encoding: 'utf8', timeout: 30_000 });
    const items = (JSON.parse(out) as { items: { kind: string; metadata: { name: string }; spec?: any; stringData?: any }[] }).items;
    expect(items.map((i) => `${i.kind}/${i.metadata.name}`).sort()).toEqual(['ClusterRole/weft-collector', 'ClusterRoleBinding/weft-collector', 'DaemonSet/weft-collector', 'Namespace/weft', 'Secret/weft-token', 'ServiceAccount/weft-collector']);
    const ds = items.find((i) => i.kind === 'DaemonSet')!.spec.template.spec;
    expect(ds.hostNetwork).toBe(true);
    expect(ds.hostPID).toBe(true);
    const c = ds.containers[0];
    expect(c.securityContext.privileged).toBe(false);
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['BPF', 'PERFMON', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE', 'DAC_READ_SEARCH', 'SETUID', 'SETGID', 'SETPCAP'] });
    expect(c.args).toContain('--token-file=/etc/weft/token/token');
    expect(ds.volumes.find((v: any) => v.name === 'token').secret.secretName).toBe('weft-token');
    expect(c.readinessProbe.httpGet.path).toBe('/healthz');
    expect(out).not.toMatch(/"privileged": true/);
  });
});
