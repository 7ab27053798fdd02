// The server process: everything that parses network input (HTTP, WebSocket frames, JSON) runs
// here, started by the privileged parent through setpriv as an unprivileged user with no
// capabilities, an empty bounding set and no_new_privs. Its tables are mirrors the parent feeds;
// it can read them and serve them, nothing more.
import '../heap-flags.js';
import type { Server as NetServer } from 'node:net';
import type { FlowRecord, LinkRecord } from '../../protocol/index.js';
import { runCollector, type RunningCollector } from '../collector.js';
import { trimMallocEvery } from '../malloc-trim.js';
import { MirrorTable } from './mirror-table.js';
import type { ChildMessage, HealthReport, ParentMessage } from './messages.js';
import { noCapabilities, processPrivileges } from './process-status.js';

const fail = (message: string): never => {
  console.error(`weft-collector: server process: ${message}`);
  process.exit(1);
};

const self = processPrivileges();
if (self.uids.includes(0) || !noCapabilities(self.capEff) || !noCapabilities(self.capPrm)) fail(`refusing to serve with privileges (uids ${self.uids.join(' ')}, CapEff ${self.capEff})`);
if (!process.send) fail('no IPC channel: this process is started by weft-collector, not by hand');

const tables = { links: new MirrorTable<LinkRecord>(), flows: new MirrorTable<FlowRecord>() };
// The history's arrays come and go every interval: their freed pages go back to the kernel.
trimMallocEvery((line) => console.error(`weft-collector: server process: ${line}`));
const reports = new Map<string, HealthReport>();
const health: Record<string, () => unknown> = {};
let init: Extract<ParentMessage, { type: 'init' }> | undefined;
let running: RunningCollector | undefined;
let stopping = false;

function setHealth(components: Record<string, HealthReport>): void {
  for (const name of Object.keys(components)) {
    reports.set(name, components[name]!);
    health[name] ??= () => {
      const r = reports.get(name)!;
      if ('error' in r) throw new Error(r.error);
      return r.value;
    };
  }
}

async function serve(listening: NetServer): Promise<void> {
  if (!init) fail('listening socket came before the settings');
  const { config, token, tls, features, parentPid } = init!;
  health.server = () => {
    const p = processPrivileges();
    return { pid: process.pid, uid: p.uids[0], capEff: p.capEff, capPrm: p.capPrm, capBnd: p.capBnd, noNewPrivs: p.noNewPrivs };
  };
  running = await runCollector(config, token, { links: tables.links, flows: tables.flows, health, features, close: () => undefined }, { listening, ...(tls ? { tls } : {}), ownPids: [parentPid] });
  const ready: ChildMessage = { type: 'ready', port: running.server.port };
  process.send!(ready);
}

function stop(reason: string): void {
  if (stopping) return;
  stopping = true;
  const done = (): never => process.exit(0);
  if (!running) done();
  running!.close(reason).then(done, (e: Error) => fail(`error while stopping: ${e.message}`));
}

process.on('message', (m: ParentMessage, handle?: NetServer) => {
  switch (m.type) {
    case 'init':
      init = m;
      break;
    case 'listen':
      if (!handle) fail('no listening socket came with the listen message');
      serve(handle!).catch((e: Error) => fail(e.message));
      break;
    case 'table':
      tables[m.table].apply(m);
      break;
    case 'health':
      setHealth(m.components);
      break;
    case 'stop':
      stop(m.reason);
      break;
  }
});
// Ctrl-C and systemd reach every process of the group; the parent's stop message may follow.
process.once('SIGINT', () => stop('collector stopped (SIGINT)'));
process.once('SIGTERM', () => stop('collector stopped (SIGTERM)'));
// Parent gone: nobody feeds the tables any more.
process.once('disconnect', () => stop('collector stopped'));
// A parent that died while this module loaded closed the channel before anyone listened: the
// listening socket it had sent would keep this process serving nobody for ever.
if (!process.connected) stop('collector stopped');
