// Tiny UDP/TCP probe for tests/host/netlab.test.ts, run inside the lab's namespaces (`ip netns exec NS node probe.mjs …`).
//   reflect PORT [PORT…]        answer every UDP "echo" with the sender's address as seen here ("ip:port"); a message
//                               "reply-from:P" is answered from local port P instead (to test NAT filtering);
//                               also accepts TCP on the first port. Runs until killed.
//   client LOCALPORT JSON       sends each {to:"ip:port", ask:"echo"|"reply-from:P"} from LOCALPORT, waits ≤ 1 s for
//                               an answer, prints one JSON line [{to, got, from, rttMs}] and exits.
//   tcp IP PORT                 prints "ok" or the error code of a TCP connect (≤ 3 s).
import dgram from 'node:dgram';
import net from 'node:net';

const [mode, ...args] = process.argv.slice(2);
if (mode === 'reflect') {
  const socks = new Map();
  for (const p of args.map(Number)) {
    const s = dgram.createSocket('udp4');
    s.bind(p);
    socks.set(p, s);
    s.on('message', (m, r) => {
      const text = m.toString();
      const out = text.startsWith('reply-from:') ? socks.get(Number(text.slice(11))) : s;
      out?.send(`${r.address}:${r.port}`, r.port, r.address);
    });
  }
  net.createServer((c) => c.end('hi')).listen(Number(args[0]));
  console.log('ready');
} else if (mode === 'client') {
  const s = dgram.createSocket('udp4');
  s.bind(Number(args[0]), async () => {
    const res = [];
    for (const a of JSON.parse(args[1])) {
      const [ip, port] = a.to.split(':');
      const t0 = process.hrtime.bigint();
      const got = await new Promise((resolve) => {
        const t = setTimeout(() => { s.removeAllListeners('message'); resolve(null); }, 1000);
        s.once('message', (m, r) => { clearTimeout(t); resolve({ got: m.toString(), from: `${r.address}:${r.port}` }); });
        s.send(a.ask, Number(port), ip);
      });
      res.push({ to: a.to, ask: a.ask, got: got?.got ?? null, from: got?.from ?? null, rttMs: got ? Number(process.hrtime.bigint() - t0) / 1e6 : null });
    }
    console.log(JSON.stringify(res));
    s.close();
  });
} else if (mode === 'tcp') {
  const c = net.connect({ host: args[0], port: Number(args[1]), timeout: 3000 });
  c.once('connect', () => { console.log('ok'); c.destroy(); });
  c.once('timeout', () => { console.log('ETIMEDOUT'); c.destroy(); });
  c.once('error', (e) => console.log(e.code));
} else {
  console.error('usage: probe.mjs reflect|client|tcp …');
  process.exit(1);
}
