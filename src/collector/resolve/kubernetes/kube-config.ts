// Where the cluster is: the pod's service account when running in a cluster, else a kubeconfig
// (the one given, $KUBECONFIG, or ~/.kube/config). No cluster found = Kubernetes naming is off.
// Where to look is decided from files and env alone: @kubernetes/client-node (about 60 MB once
// loaded) is imported only when there is a configuration to read, and not at all for the service
// account when only the resolver process talks to the cluster (the parent just reads files for it).
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';

/** A configuration as data: what the resolver process is handed (privsep/resolver-kube-config.ts). */
export type KubeConfigData = Pick<KubeConfig, 'clusters' | 'users' | 'contexts' | 'currentContext'>;

export interface KubeSource {
  /** Path of a kubeconfig file; wins over everything else. */
  kubeconfig?: string;
  /** Directory under which /var/run/secrets/kubernetes.io/serviceaccount is looked for ('' = /). */
  serviceAccountRoot?: string;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where a configuration would be read from, without reading it; undefined when there is none. */
export type KubeCandidate = { file: string } | { cluster: string };

export function findKubeCandidate(src: KubeSource = {}, env = process.env): KubeCandidate | undefined {
  if (src.kubeconfig) return { file: src.kubeconfig };
  const root = src.serviceAccountRoot ?? '';
  if (env.KUBERNETES_SERVICE_HOST && existsSync(`${root}${SERVICE_ACCOUNT}/token`)) return { cluster: root };
  // As kubectl: $KUBECONFIG when set (its first file that exists), else ~/.kube/config.
  const file = env.KUBECONFIG ? env.KUBECONFIG.split(':').find((f) => f && existsSync(f)) : join(homedir(), '.kube', 'config');
  return file && existsSync(file) ? { file } : undefined;
}

/** The service account's configuration, as KubeConfig.loadFromCluster(root) builds it (a unit test holds them equal). */
export function inClusterConfig(root: string, env = process.env): KubeConfigData {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT;
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const namespaceFile = `${root}${SERVICE_ACCOUNT}/namespace`;
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8') : undefined;
  return {
    clusters: [{ name: 'inCluster', caFile: `${root}${SERVICE_ACCOUNT}/ca.crt`, server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`, skipTLSVerify: false }],
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: `${root}${SERVICE_ACCOUNT}/token` } } }],
    contexts: [{ cluster: 'inCluster', name: 'inClusterContext', user: 'inClusterUser', namespace }],
    currentContext: 'inClusterContext',
  };
}

export async function loadKubeConfig(src: KubeSource = {}, env = process.env): Promise<{ config?: KubeConfig; source: string }> {
  const candidate = findKubeCandidate(src, env);
  if (!candidate) return { source: 'none' };
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if ('cluster' in candidate) {
    // loadFromCluster reads KUBERNETES_SERVICE_HOST/PORT from process.env itself.
    kc.loadFromCluster(candidate.cluster);
    return { config: kc, source: 'in-cluster service account' };
  }
  kc.loadFromFile(candidate.file);
  // A file named outright is used as it is; one found by looking must name a cluster.
  if (candidate.file === src.kubeconfig || kc.getCurrentCluster()) return { config: kc, source: candidate.file };
  return { source: 'none' };
}
