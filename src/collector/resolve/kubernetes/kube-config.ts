// Where the cluster is: the pod's service account when running in a cluster, else a kubeconfig
// (the one given, $KUBECONFIG, or ~/.kube/config). No cluster found = Kubernetes naming is off.
// Where to look is decided from files and env alone: @kubernetes/client-node (about 60 MB once
// loaded) is imported only when there is a configuration to read.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';

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
