// A resolver process taken over: started by the parent like the real one (setpriv, fd 3), it sends
// every kind of bad line the parent must refuse, between lines that are fine. It answers each `dns`
// message with one good name, so the channel is shown to still work; a `reverse` request makes it
// flood bad lines until it is replaced.
import { Socket } from 'node:net';

const io = new Socket({ fd: 3, readable: true, writable: true });
const line = (s: string): boolean => io.write(`${s}\n`);
const send = (m: unknown): boolean => line(JSON.stringify(m));
const pod = { kind: 'pod', name: 'x', namespace: 'shop' };

send({ type: 'ready' });
line('not json at all');
line('[1,2,3]');
send({ type: 'dns' });
send({ type: 'exec', command: 'rm -rf /' });
send({ type: 'kube', reset: false, last: true, set: [['999.1.1.1', pod]], remove: [] });
send({ type: 'kube', reset: false, last: true, set: [['10.79.9.1', { ...pod, name: 'evil\u001b[31m' }]], remove: [] });
send({ type: 'kube', reset: false, last: true, set: [['10.79.9.1', { ...pod, kind: 'root' }]], remove: [] });
send({ type: 'kube', reset: false, last: true, set: Array.from({ length: 2001 }, (_, i) => [`10.79.${i >> 8}.${i & 255}`, pod]), remove: [] });
send({ type: 'dns', names: [{ ip: '10.79.9.2', name: 'x.test', ttl: -1 }], answers: 1, malformed: 0 });
send({ type: 'dns', names: [{ ip: '10.79.9.2', name: 'a b\nc', ttl: 5 }], answers: 1, malformed: 0 });
line('{"type":"dns","names":[],"answers":0,"malformed":0,"__proto__":{"polluted":true}}');
line(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
// Two megabytes without a newline, then one: more than the parent holds.
line('{"type":"log","line":"' + 'a'.repeat(2 * 1024 * 1024) + '"}');
send({ type: 'dns', names: [{ ip: '10.79.9.2', name: 'unasked.test', ttl: 5 }], answers: 1, malformed: 0 });
send({ type: 'log', line: 'still here' });
// A whole new set that never completes must not replace the one in use.
send({ type: 'kube', reset: false, last: true, set: [['10.79.9.9', { kind: 'pod', name: 'good-0', namespace: 'shop', pod: 'good-0' }]], remove: [] });
send({ type: 'kube', reset: true, last: false, set: [], remove: [] });

let buffered = '';
io.on('data', (d: Buffer) => {
  buffered += d.toString();
  let nl: number;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const m = JSON.parse(buffered.slice(0, nl)) as { type: string };
    buffered = buffered.slice(nl + 1);
    // One good name for the one record the test hands over, and one answer too many.
    if (m.type === 'dns') {
      send({ type: 'dns', names: [{ ip: '10.79.9.3', name: 'ok.weft.test', ttl: 60 }], answers: 1, malformed: 0 });
      send({ type: 'dns', names: [{ ip: '10.79.9.5', name: 'extra.test', ttl: 60 }], answers: 1, malformed: 0 });
    }
    if (m.type === 'reverse') for (let i = 0; i < 50; i++) line(`bad ${i}`);
  }
});
io.on('close', () => process.exit(0));
