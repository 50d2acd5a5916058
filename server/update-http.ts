/**
 * The update service (server/update.ts) over real HTTP with node:http. Used by `npm run update-server` and
 * the tests; `listenUpdateHttp` rejects with the listen error (e.g. code EADDRINUSE).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { UpdateService } from './update.js';

export interface UpdateHttpServer { server: http.Server; port: number; close(): Promise<void> }

export function listenUpdateHttp(service: UpdateService, opts: { host?: string; port?: number } = {}): Promise<UpdateHttpServer> {
  const server = http.createServer((req, res) => {
    const a = service.handle(req.method ?? 'GET', req.url ?? '/');
    res.writeHead(a.status, { ...a.headers, 'content-length': String(a.body.length), connection: 'close' });
    res.end(req.method === 'HEAD' ? undefined : Buffer.from(a.body));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({ server, port, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) });
    });
  });
}
