/**
 * node:net transport for LoginService: one FrameDecoder per connection, responses written in
 * request order. Shared by server/main.ts and the host tests.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { FrameDecoder, encodeFrame, type LoginService } from './service.ts';

export interface TcpListenOptions {
  host: string;
  /** 0 picks an ephemeral port. */
  port: number;
  /** Default 1024. */
  maxConnections?: number;
}

export interface TcpLoginServer {
  server: Server;
  /** Address actually bound. */
  host: string;
  port: number;
  /** Stops accepting, destroys open connections, resolves when the listener is closed. */
  close(): Promise<void>;
}

/** Serves `service` over TCP. Rejects with the listen error (e.g. code EADDRINUSE). */
export function listenTcp(service: LoginService, opts: TcpListenOptions): Promise<TcpLoginServer> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    const peer = sock.remoteAddress ?? 'unknown';
    const dec = new FrameDecoder();
    sock.on('data', (chunk: Buffer) => {
      for (const body of dec.push(chunk)) {
        const reply = service.handleFrame(body, peer);
        if (reply === null) {
          sock.destroy();
          return;
        }
        // Stop reading while the peer is not draining its responses, so a client that pipelines
        // without reading cannot make us buffer replies without bound.
        if (!sock.write(encodeFrame(reply)) && !sock.isPaused()) {
          sock.pause();
          sock.once('drain', () => sock.resume());
        }
      }
      if (dec.oversize) sock.destroy();
    });
    sock.on('error', () => {
      /* resets etc. are normal; 'close' follows */
    });
    sock.on('close', () => sockets.delete(sock));
  });
  server.maxConnections = opts.maxConnections ?? 1024;

  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      server.on('error', () => {
        /* post-listen errors surface per socket */
      });
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.port;
      const host = typeof addr === 'object' && addr ? addr.address : opts.host;
      resolve({
        server,
        host,
        port,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            for (const s of sockets) s.destroy();
          }),
      });
    });
  });
}
