//! The one place supabase-js is configured. Every screen talks to rowgate through `supabase`
//! (REST in schema `api`, auth, realtime) and unwraps answers with `run`/`runCounted`, which turn
//! an error into an `ApiError` carrying a sentence (errors.ts).

import { AuthClient, GoTrueAdminApi, createClient } from '@supabase/supabase-js';
import type { ConsoleConfig } from '../config';
import { ApiError } from './errors';

function makeClient(cfg: ConsoleConfig) {
  return createClient(cfg.url, cfg.anonKey, {
    // rowgate exposes schema `api` (supabase-js would ask for `public`).
    db: { schema: 'api' },
    auth: {
      persistSession: true,
      autoRefreshToken: true,
      storageKey: 'rowgate-console-auth',
      // The emailed links (features/auth/links.tsx) land with the session in the URL's fragment
      // (the implicit flow: rowgate's email flows refuse PKCE); supabase-js reads and removes it.
      detectSessionInUrl: true,
    },
  });
}

export let supabase: ReturnType<typeof makeClient>;
let config: ConsoleConfig;

export function initClient(cfg: ConsoleConfig): void {
  config = cfg;
  supabase = makeClient(cfg);
}

interface Answer<T> {
  data: T | null;
  error: unknown;
  count?: number | null;
}

/** The data of a supabase-js answer, or an ApiError. */
export async function run<T>(query: PromiseLike<Answer<unknown>>): Promise<T> {
  let answer: Answer<unknown>;
  try {
    answer = await query;
  } catch (e) {
    throw ApiError.from(e);
  }
  if (answer.error) throw ApiError.from(answer.error);
  return answer.data as T;
}

/** The rows and the exact total (a query made with `{ count: 'exact' }`). */
export async function runCounted<T>(query: PromiseLike<Answer<unknown>>): Promise<{ rows: T[]; total: number }> {
  let answer: Answer<unknown>;
  try {
    answer = await query;
  } catch (e) {
    throw ApiError.from(e);
  }
  if (answer.error) throw ApiError.from(answer.error);
  return { rows: (answer.data ?? []) as T[], total: answer.count ?? 0 };
}

/**
 * GoTrue's admin API (/auth/v1/admin/users) with the signed-in user's own token: rowgate lets a
 * super admin use it (auth.may_administer, decided in SQL). supabase-js's `auth.admin` would send
 * the anon key instead, as it expects a service_role key, which must never reach a browser.
 */
export async function adminApi(): Promise<GoTrueAdminApi | null> {
  const { data } = await supabase.auth.getSession();
  const token = data.session?.access_token;
  if (!token) return null;
  return new GoTrueAdminApi({
    url: `${config.url}/auth/v1`,
    headers: { Authorization: `Bearer ${token}`, apikey: config.anonKey },
  });
}

/** The site's settings (GET /auth/v1/settings; supabase-js has no call for it): the OAuth providers. */
export async function oauthProviders(): Promise<string[]> {
  const res = await fetch(`${config.url}/auth/v1/settings`, { headers: { apikey: config.anonKey } });
  if (!res.ok) return [];
  const settings = (await res.json()) as { external?: Record<string, boolean> };
  const notOAuth = new Set(['email', 'phone', 'anonymous_users']);
  return Object.entries(settings.external ?? {})
    .filter(([name, on]) => on && !notOAuth.has(name))
    .map(([name]) => name);
}

/**
 * OAuth sign-in: rowgate's /authorize is PKCE only, while `supabase` uses the implicit flow (the
 * emailed links need it). A second, short-lived auth client with `flowType: 'pkce'` and the same
 * storage key keeps the code verifier where `supabase.auth.exchangeCodeForSession` finds it when
 * the provider sends the person back to /auth/callback?code=… (features/auth/oauth.tsx).
 */
export async function signInWithOAuth(provider: string): Promise<void> {
  const pkce = new AuthClient({
    url: `${config.url}/auth/v1`,
    headers: { apikey: config.anonKey, Authorization: `Bearer ${config.anonKey}` },
    storageKey: 'rowgate-console-auth',
    flowType: 'pkce',
    detectSessionInUrl: false,
    autoRefreshToken: false,
    persistSession: true,
  });
  const { error } = await pkce.signInWithOAuth({ provider: provider as never, options: { redirectTo: `${location.origin}/auth/callback` } });
  if (error) throw ApiError.from(error);
}
