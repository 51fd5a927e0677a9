-- The account lifecycle of /auth/v1 (issue 18 points 1-5, 8): confirmed emails, metadata, pending
-- email changes, emailed one-time tokens (stored as SHA-256 hashes only, expiring, single use) and
-- the events the per-endpoint-class limits count. Every function is in functions/auth_flows.sql.

-- Rows inserted directly (seeds, earlier users) count as confirmed; the sign-up flow inserts NULL
-- when ROWGATE_MAILER_AUTOCONFIRM=false and the emailed link sets it.
alter table auth.users
  add column email_confirmed_at timestamptz default now(),
  add column confirmation_sent_at timestamptz,
  add column recovery_sent_at timestamptz,
  add column invited_at timestamptz,
  add column last_sign_in_at timestamptz,
  add column banned_until timestamptz,
  add column email_change text,
  add column email_change_sent_at timestamptz,
  add column raw_user_meta_data jsonb not null default '{}',
  add column raw_app_meta_data jsonb not null default '{}',
  add column updated_at timestamptz;
update auth.users set email_confirmed_at = created_at;

-- One-time tokens: a long link token (`token_hash` of GoTrue's links) and a 6-digit code, both
-- for one purpose, one address and one use. `data` carries what the use completes (an invitation).
create table auth.one_time_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  kind text not null check (kind in ('signup', 'invite', 'recovery', 'magiclink', 'email_change', 'reauthentication')),
  link_hash text not null unique,
  code_hash text not null,
  email text not null,
  data jsonb not null default '{}',
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index one_time_tokens_user_idx on auth.one_time_tokens (user_id, kind);
create index one_time_tokens_email_idx on auth.one_time_tokens (lower(email), kind) where used_at is null;
alter table auth.one_time_tokens owner to rowgate_owner;
revoke all on auth.one_time_tokens from public, anon, authenticated, service_role;

-- Counted events of the per-endpoint-class limits (emails per address and per hour, verify and
-- OTP requests per client IP, wrong codes per address); pruned as they are counted.
create table auth.rate_events (
  key text not null,
  at timestamptz not null default now()
);
create index rate_events_key_idx on auth.rate_events (key, at);
alter table auth.rate_events owner to rowgate_owner;
revoke all on auth.rate_events from public, anon, authenticated, service_role;
