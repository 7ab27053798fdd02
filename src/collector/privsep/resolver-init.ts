// What a resolver process is started with: the cluster it watches (its kubeconfig with every file
// read in, as the child's user may not be able to read them), the token files to check for
// rotation, and where reverse lookups go.
import type { KubeConfigData } from '../resolve/kubernetes/kube-config.js';
import type { ReverseDnsOptions } from '../resolve/dns/reverse-dns.js';
import type { KubeWatcherOptions } from '../resolve/kubernetes/kube-watcher.js';
import { portableKubeConfig, readToken } from './resolver-kube-config.js';
import type { ToResolver } from './resolver-messages.js';

type Init = Extract<ToResolver, { type: 'init' }>;

export function resolverInit(
  kube: { config: KubeConfigData; source: string } | undefined,
  k: Pick<KubeWatcherOptions, 'requestTimeoutMs' | 'retryMinMs' | 'retryMaxMs'>,
  reverse: ReverseDnsOptions | undefined,
  log: (line: string) => void,
): { init: Init; tokens: { user: string; read: () => string }[] } {
  const init: Init = { type: 'init' };
  const tokens: { user: string; read: () => string }[] = [];
  if (kube) {
    try {
      const p = portableKubeConfig(kube.config);
      const options = { ...(k.requestTimeoutMs ? { requestTimeoutMs: k.requestTimeoutMs } : {}), ...(k.retryMinMs ? { retryMinMs: k.retryMinMs } : {}), ...(k.retryMaxMs ? { retryMaxMs: k.retryMaxMs } : {}) };
      init.kube = { config: p.config, options };
      for (const t of p.tokenFiles) tokens.push({ user: t.user, read: () => readToken(t.file) });
      log(`kubernetes: using ${kube.source}, watched from the resolver process`);
    } catch (e) {
      log(`kubernetes: off (${(e as Error).message})`);
    }
  }
  if (reverse) {
    const { servers, timeoutMs } = reverse;
    init.reverse = { ...(servers ? { servers } : {}), ...(timeoutMs ? { timeoutMs } : {}) };
  }
  return { init, tokens };
}
