-- MFA (TOTP): factors, challenges and the assurance level of a session (issue 18 point 6).
-- The functions live in functions/auth_mfa.sql.

-- A TOTP factor: its 20-byte secret encrypted with pgp_sym_encrypt under the gateway's MFA key
-- (ROWGATE_MFA_ENCRYPTION_KEY, docs/auth.md), `last_step` the newest 30-second step a code was
-- accepted for (a code is never accepted twice, nor one older than the last accepted).
create table auth.mfa_factors (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  friendly_name text,
  factor_type text not null default 'totp' check (factor_type = 'totp'),
  status text not null default 'unverified' check (status in ('unverified', 'verified')),
  secret bytea not null,
  last_step bigint,
  last_challenged_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index on auth.mfa_factors (user_id);
create unique index on auth.mfa_factors (user_id, friendly_name) where friendly_name is not null;

-- A challenge: verified once, within five minutes, from the address that asked for it.
create table auth.mfa_challenges (
  id uuid primary key default gen_random_uuid(),
  factor_id uuid not null references auth.mfa_factors (id) on delete cascade,
  ip text not null default '',
  created_at timestamptz not null default now(),
  verified_at timestamptz
);
create index on auth.mfa_challenges (factor_id);

-- Failed verifications, for the per-factor limit.
create table auth.mfa_failures (
  factor_id uuid not null references auth.mfa_factors (id) on delete cascade,
  at timestamptz not null default now()
);
create index on auth.mfa_failures (factor_id, at);

-- What a session's access tokens claim: `aal` and `amr` (GoTrue's claims), and the factor that
-- raised it to aal2 (unenrolling that factor lowers it again).
alter table auth.sessions
  add column aal text not null default 'aal1' check (aal in ('aal1', 'aal2')),
  add column amr jsonb not null default '[]',
  add column factor_id uuid references auth.mfa_factors (id) on delete set null;

revoke all on auth.mfa_factors, auth.mfa_challenges, auth.mfa_failures from public;
