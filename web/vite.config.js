// Vite's configuration for the console (docs/spa.md). Plain JavaScript so that the type check
// (tsc, src/ only) needs no Node typings.
//
// `npm run dev` serves the app with hot reload on http://127.0.0.1:5173 and proxies the API paths
// to a running rowgate (ROWGATE_URL, default the embedded default's http://127.0.0.1:3000), so the
// app talks to its own origin exactly as it does behind Caddy. `npm run build` writes dist/.
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';

const target = process.env.ROWGATE_URL ?? 'http://127.0.0.1:3000';

/** The anon key: ROWGATE_ANON_KEY, else the one the embedded default wrote to ../.rowgate/anon_key. */
function anonKey() {
  if (process.env.ROWGATE_ANON_KEY) return process.env.ROWGATE_ANON_KEY.trim();
  try {
    return readFileSync(new URL('../.rowgate/anon_key', import.meta.url), 'utf8').trim();
  } catch {
    return '';
  }
}

/** /config.json in development; in production Caddy answers it (the Caddyfile, SPA_ANON_KEY). */
function devConfig() {
  return {
    name: 'rowgate-dev-config',
    configureServer(server) {
      server.middlewares.use('/config.json', (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.setHeader('cache-control', 'no-store');
        res.end(JSON.stringify({ anonKey: anonKey() }));
      });
    },
  };
}

export default defineConfig({
  plugins: [devConfig()],
  // JSX for Preact by esbuild itself: no framework plugin needed.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    // Never inline assets as data: URLs, which the Caddyfile's CSP (img-src 'self') refuses.
    assetsInlineLimit: 0,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: {
      '/rest/v1': { target },
      '/auth/v1': { target },
      '/realtime/v1': { target, ws: true },
    },
  },
});
