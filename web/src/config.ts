//! The console's runtime configuration, read from /config.json before anything else, so that
//! one build serves every deployment: Caddy answers it from the SPA_ANON_KEY environment
//! variable (the Caddyfile), the Vite dev server from the embedded default's key (vite.config.js).

export interface ConsoleConfig {
  /** Where supabase-js sends /auth/v1, /rest/v1 and /realtime/v1: the page's own origin by default. */
  url: string;
  /** A token with role `anon`: what supabase-js sends while signed out. Public by design. */
  anonKey: string;
}

export class ConfigError extends Error {}

export async function loadConfig(): Promise<ConsoleConfig> {
  let raw: unknown;
  try {
    const res = await fetch('/config.json', { cache: 'no-store', headers: { accept: 'application/json' } });
    if (!res.ok) throw new ConfigError(`/config.json answered HTTP ${res.status}.`);
    raw = await res.json();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError('/config.json could not be read as JSON.');
  }
  const obj = (raw ?? {}) as Record<string, unknown>;
  const anonKey = typeof obj.anonKey === 'string' ? obj.anonKey.trim() : '';
  if (!anonKey) {
    throw new ConfigError(
      'This console has no anon key: set SPA_ANON_KEY for Caddy (a token with role anon, from `rowgate token --role anon`).',
    );
  }
  const url = typeof obj.url === 'string' && obj.url ? obj.url.replace(/\/+$/, '') : window.location.origin;
  return { url, anonKey };
}
