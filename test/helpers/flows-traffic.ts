// Known amounts of traffic between test hosts: UDP datagrams and one TCP transfer, each side a
// small Node process inside its namespace. Everything is bounded in count and time.
import type { TestHost } from './netns.js';

const TIMEOUT_MS = 20_000;

/**
 * Runs a Node script in `host`; resolves with its stdout. `onReady` runs once it prints `ready` on
 * stderr. `cpu` pins it to that CPU.
 */
function runNode(host: TestHost, script: string, args: string[], onReady?: () => void, cpu?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const node = [process.execPath, '-e', script, ...args];
    const child = cpu === undefined ? host.spawn(node[0]!, node.slice(1)) : host.spawn('taskset', ['-c', String(cpu), ...node]);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (onReady && err.includes('ready')) {
        onReady();
        onReady = undefined;
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new Error(`node in ${host.ns} exited ${code}: ${err.trim()}`));
    });
  });
}

// Waits for `count` datagrams (or the timeout) and prints how many arrived.
const UDP_RECEIVER = `
const s = require('dgram').createSocket(process.argv[1].includes(':') ? 'udp6' : 'udp4');
let n = 0; const want = Number(process.argv[3]);
const done = () => { console.log(n); process.exit(0); };
s.on('message', () => { if (++n === want) done(); });
s.bind(Number(process.argv[2]), process.argv[1], () => console.error('ready'));
setTimeout(done, ${TIMEOUT_MS - 2000});
`;

const UDP_SENDER = `
const [dst, port, count, size, sport] = process.argv.slice(1);
const s = require('dgram').createSocket(dst.includes(':') ? 'udp6' : 'udp4');
s.bind(Number(sport), () => {
  let i = 0; const buf = Buffer.alloc(Number(size), 7);
  const next = () => { if (i++ === Number(count)) { s.close(); return; } s.send(buf, Number(port), dst, (e) => { if (e) throw e; setTimeout(next, 1); }); };
  next();
});
`;

/** Sends `count` datagrams of `size` payload bytes from `from` (source port `srcPort`) to `to`; resolves with how many arrived. */
export async function udpExchange(from: TestHost, to: TestHost, dst: string, port: number, count: number, size: number, srcPort: number): Promise<number> {
  let sender: Promise<string> | undefined;
  const arrived = await runNode(to, UDP_RECEIVER, [dst, String(port), String(count)], () => {
    sender = runNode(from, UDP_SENDER, [dst, String(port), String(count), String(size), String(srcPort)]);
    sender.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  });
  await sender;
  return Number(arrived);
}

const TCP_SERVER = `
const [addr, port, reply] = process.argv.slice(1);
const srv = require('net').createServer((c) => {
  let got = 0;
  c.on('data', (d) => (got += d.length));
  c.on('end', () => { c.end(Buffer.alloc(Number(reply), 5)); console.log(got); srv.close(); });
});
srv.listen(Number(port), addr, () => console.error('ready'));
setTimeout(() => process.exit(3), ${TIMEOUT_MS - 2000}).unref();
`;

const TCP_CLIENT = `
const [addr, port, send] = process.argv.slice(1);
const c = require('net').connect(Number(port), addr, () => c.end(Buffer.alloc(Number(send), 9)));
let got = 0;
c.on('data', (d) => (got += d.length));
c.on('close', () => console.log(got));
`;

/**
 * One TCP connection: `send` bytes client → server, then `reply` bytes back. Resolves with what each
 * side received. Both ends run on CPU 0: a sender that moves between CPUs queues its segments on two
 * CPUs' veth backlogs, which can deliver them out of order, and the receiver's ACKs then carry SACK
 * blocks that no exact header count expects.
 */
export async function tcpTransfer(client: TestHost, server: TestHost, addr: string, port: number, send: number, reply: number): Promise<{ serverGot: number; clientGot: number }> {
  let clientRun: Promise<string> | undefined;
  const serverGot = await runNode(server, TCP_SERVER, [addr, String(port), String(reply)], () => {
    clientRun = runNode(client, TCP_CLIENT, [addr, String(port), String(send)], undefined, 0);
    clientRun.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  }, 0);
  if (!clientRun) throw new Error(`tcp server in ${server.ns} ended before it was ready`);
  return { serverGot: Number(serverGot), clientGot: Number(await clientRun) };
}
