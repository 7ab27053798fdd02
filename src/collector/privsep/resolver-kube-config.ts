// The parent reads what the resolver process cannot (it runs as an unprivileged user; a kubeconfig
// in /root or a service account token may be closed to it) and hands it the contents instead:
// certificate, key and CA files become their data, a token file becomes its token. Token files
// are remembered so the parent can send the token again when the kubelet rotates it.
import { readFileSync } from 'node:fs';
import type { KubeConfigData } from '../resolve/kubernetes/kube-config.js';
import type { PortableKubeConfig } from './resolver-messages.js';

export interface TokenFile {
  user: string;
  file: string;
}

const base64 = (file: string): string => readFileSync(file).toString('base64');

export function readToken(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

/** Throws naming what cannot be carried over (exec plugins, auth providers other than a token file). */
export function portableKubeConfig(kc: KubeConfigData): { config: PortableKubeConfig; tokenFiles: TokenFile[] } {
  const tokenFiles: TokenFile[] = [];
  const clusters = kc.clusters.map((c) => {
    const out: PortableKubeConfig['clusters'][number] = { name: c.name, server: c.server, skipTLSVerify: c.skipTLSVerify };
    const ca = c.caData ?? (c.caFile ? base64(c.caFile) : undefined);
    if (ca) out.caData = ca;
    if (c.tlsServerName) out.tlsServerName = c.tlsServerName;
    return out;
  });
  const users = kc.users.map((u) => {
    if (u.exec) throw new Error(`user "${u.name}" uses an exec plugin, which the resolver process cannot run; use a token or certificate, or --no-privsep`);
    const out: PortableKubeConfig['users'][number] = { name: u.name };
    const provider = u.authProvider as { name?: string; config?: { tokenFile?: string } } | undefined;
    if (provider) {
      if (provider.name !== 'tokenFile' || !provider.config?.tokenFile) throw new Error(`user "${u.name}" uses the auth provider "${provider.name}", which the resolver process cannot use`);
      tokenFiles.push({ user: u.name, file: provider.config.tokenFile });
      out.token = readToken(provider.config.tokenFile);
    }
    if (u.token) out.token = u.token;
    const cert = u.certData ?? (u.certFile ? base64(u.certFile) : undefined);
    const key = u.keyData ?? (u.keyFile ? base64(u.keyFile) : undefined);
    if (cert) out.certData = cert;
    if (key) out.keyData = key;
    if (u.username) out.username = u.username;
    if (u.password) out.password = u.password;
    return out;
  });
  const contexts = kc.contexts.map((c) => ({ name: c.name, cluster: c.cluster, user: c.user, ...(c.namespace ? { namespace: c.namespace } : {}) }));
  return { config: { clusters, users, contexts, currentContext: kc.currentContext }, tokenFiles };
}
