// Where the cluster is: the pod's service account when running in a cluster, else a kubeconfig
// (the one given, $KUBECONFIG, or ~/.kube/config). No cluster found = Kubernetes naming is off.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeSource {
  /** Path of a kubeconfig file; wins over everything else. */
  kubeconfig?: string;
  /** Directory under which /var/run/secrets/kubernetes.io/serviceaccount is looked for ('' = /). */
  serviceAccountRoot?: string;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

export function loadKubeConfig(src: KubeSource = {}, env = process.env): { config?: KubeConfig; source: string } {
  const kc = new KubeConfig();
  if (src.kubeconfig) {
    kc.loadFromFile(src.kubeconfig);
    return { config: kc, source: src.kubeconfig };
  }
  const root = src.serviceAccountRoot ?? '';
  // loadFromCluster reads KUBERNETES_SERVICE_HOST/PORT from process.env itself.
  if (env.KUBERNETES_SERVICE_HOST && existsSync(`${root}${SERVICE_ACCOUNT}/token`)) {
    kc.loadFromCluster(root);
    return { config: kc, source: 'in-cluster service account' };
  }
  // As kubectl: $KUBECONFIG when set (its first file that exists), else ~/.kube/config.
  const file = env.KUBECONFIG ? env.KUBECONFIG.split(':').find((f) => f && existsSync(f)) : join(homedir(), '.kube', 'config');
  if (file && existsSync(file)) {
    kc.loadFromFile(file);
    if (kc.getCurrentCluster()) return { config: kc, source: file };
  }
  return { source: 'none' };
}
