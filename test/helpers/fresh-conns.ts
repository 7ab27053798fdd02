// Scripts run inside test hosts for the freshness test and bench: a server listening on a range of
// ports, and a client that connects to each port once, printing when each connect() returned.
export const serverScript = (ip: string, base: number, count: number): string => `
const net = require('net');
const held = [];
let listening = 0;
for (let i = 0; i < ${count}; i++) {
  net.createServer((s) => { held.push(s); s.on('data', () => {}); s.on('error', () => {}); })
    .listen(${base} + i, '${ip}', () => { if (++listening === ${count}) console.log('ready'); });
}
setTimeout(() => process.exit(0), 120000);
`;

/** Every other connection sends nothing at all: zero-byte connections count too. */
export const clientScript = (ip: string, base: number, count: number, gapMs: number): string => `
const net = require('net');
const open = [];
let i = 0;
function next() {
  if (i === ${count}) { console.log('done'); setTimeout(() => { open.forEach((s) => s.destroy()); process.exit(0); }, 3000); return; }
  const port = ${base} + i;
  const s = net.connect(port, '${ip}', () => {
    console.log(JSON.stringify({ port, t: Date.now() }));
    if (port % 2) s.write('x'.repeat(100));
    open.push(s);
    i++;
    setTimeout(next, ${gapMs});
  });
  s.on('error', (e) => { console.error(e.message); process.exit(1); });
}
next();
`;
