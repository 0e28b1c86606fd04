import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Local services bind to loopback only: nothing here checks signatures, so nothing may be reachable from outside. */
export const LOCAL_HOST = '127.0.0.1';

/** Asks the OS for a free port. Only for servers we cannot hand port 0 to (DynamoDB Local runs in Java). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;
  await closeServer(server);
  return port;
}

/** Listens on `port` (0: any free one) on loopback and returns the port bound. */
export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOCAL_HOST, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes a server, dropping keep-alive sockets so the close does not wait for clients to hang up. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // SDK clients keep sockets alive; local services answer quickly, so no request is cut short here.
    server.closeAllConnections();
  });
}
