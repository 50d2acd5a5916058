/**
 * The update service (server/update.ts) on a simulated host: a minimal HTTP/1.1 server over the simulator's
 * TCP — request line and headers up to the blank line (≤ 8 KiB), one request per connection, answered with
 * Content-Length and closed. Deterministic: no node:http, no real I/O.
 */
import type { SimHost } from '../host-sim/net/types.js';
import { UpdateService, encodeHttpResponse } from './update.js';

export const UPDATE_PORT = 8080;

export function startSimUpdateServer(host: SimHost, service: UpdateService, port = UPDATE_PORT): { close(): void; requests: string[] } {
  const requests: string[] = [];
  const listener = host.tcpListen(port, (conn) => {
    let head = '';
    let answered = false;
    conn.setHandlers({
      onData(data) {
        if (answered) return;
        head += Buffer.from(data).toString('latin1');
        if (head.length > 8192) { answered = true; conn.send(encodeHttpResponse({ status: 400, headers: {}, body: new TextEncoder().encode('request too large\n') })); conn.close(); return; }
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        answered = true;
        const [method = '', url = '', proto = ''] = head.slice(0, head.indexOf('\r\n')).split(' ');
        requests.push(`${method} ${url}`);
        const a = proto.startsWith('HTTP/1.') ? service.handle(method, url) : { status: 400, headers: {}, body: new TextEncoder().encode('bad request\n') };
        conn.send(encodeHttpResponse(a, method === 'HEAD'));
        conn.close();
      },
    });
  });
  return { close: () => listener.close(), requests };
}
