// Where the cluster is: the pod's service account when running in a cluster, else a kubeconfig
// (the one given, $KUBECONFIG, or ~/.kube/config). No cluster found = Kubernetes naming is off.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeSource {
  /** Path of a kubeconfig file; wins over everything else. */
  kubeconfig?: string;
}

export function loadKubeConfig(src: KubeSource = {}, env = process.env): { config?: KubeConfig; source: string } {
  const kc = new KubeConfig();
  if (src.kubeconfig) {
    kc.loadFromFile(src.kubeconfig);
    return { config: kc, source: src.kubeconfig };
  }
  if (env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) {
    kc.loadFromCluster();
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
