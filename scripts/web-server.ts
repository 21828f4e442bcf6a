/**
 * The production web server: the built Next.js app (run `npm run build` first) behind the
 * listener of lib/web-server.ts, whose header, request and keep-alive timeouts `next start` does
 * not let us set. Binds LATENT_ATLAS_HOST:LATENT_ATLAS_PORT. Started (and restarted when it dies)
 * by scripts/start.ts; the benches start it directly. SIGTERM closes it. The hot API routes (search)
 * are answered here without Next.js's per-request work (app/_server/hot-routes.ts).
 */
import next from 'next';
import { PEER_HEADER } from '../app/_server/access';
import { hotRoutes } from '../app/_server/hot-routes';
import { parseConfig } from '../lib/config';
import { decoderPool } from '../lib/services/decoding';
import { createWebServer } from '../lib/web-server';
import { runCli } from './cli/run';

await runCli(async () => {
  const config = parseConfig();
  process.env.NEXT_TELEMETRY_DISABLED ??= '1';
  const app = next({ dev: false, hostname: config.host, port: config.port });
  const handle = app.getRequestHandler();
  // The decoder processes start while Next.js prepares, and the server listens once both are ready: the
  // first upload never waits for a decoder (the routes' bundles find this pool: it is kept on globalThis).
  await Promise.all([app.prepare(), decoderPool(config)?.ready()]);
  const hot = hotRoutes('.next');
  const server = createWebServer((request, response) => {
    // The socket's address, which a client cannot forge (whatever it sends under that name is replaced): the sign-in throttle's client.
    request.headers[PEER_HEADER] = request.socket.remoteAddress ?? 'unknown';
    (hot(request) ?? handle)(request, response).catch((error: unknown) => {
      console.error(error);
      if (!response.headersSent) response.statusCode = 500;
      response.end();
    });
  }, config.http);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void app.close().finally(() => process.exit(0));
  });
});
