// An in-cluster setup for the informers: a service account directory (token, namespace, and a
// self-signed certificate for 127.0.0.1 that is also its CA) and a TLS KubeApiServer serving with
// that certificate. The caller points KUBERNETES_SERVICE_HOST/PORT at the returned URL.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeApiServer } from './kube-api-server.js';

export async function inClusterApiServer(dir: string, sa: string, token: string): Promise<{ api: KubeApiServer; url: URL }> {
  mkdirSync(sa, { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(sa, 'ca.crt')], { stdio: 'ignore' });
  writeFileSync(join(sa, 'token'), token);
  writeFileSync(join(sa, 'namespace'), 'weft');
  const api = new KubeApiServer({ key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(sa, 'ca.crt'), 'utf8') });
  return { api, url: new URL(await api.listen()) };
}
