-- OAuth / OpenID Connect sign-in (issue 18 point 7): the state of a sign-in between /authorize,
-- /callback and the PKCE grant, and the identities that link a provider's subject to a user.
-- The functions live in functions/auth_oauth.sql.

-- One sign-in in flight: its id is the `state` sent to the provider; `nonce` goes into the ID
-- token, `provider_verifier` is our PKCE verifier towards the provider, `code_challenge` the
-- client's (S256). After the callback it names the user and holds the SHA-256 of the one-time
-- auth code the client exchanges (grant_type=pkce), which deletes it.
create table auth.flow_states (
  id uuid primary key default gen_random_uuid(),
  provider text not null,
  code_challenge text not null,
  code_challenge_method text not null check (code_challenge_method = 's256'),
  redirect_to text not null,
  nonce text not null,
  provider_verifier text not null,
  user_id uuid references auth.users (id) on delete cascade,
  auth_code_hash text unique,
  auth_code_issued_at timestamptz,
  created_at timestamptz not null default now()
);
create index on auth.flow_states (created_at);

-- A provider's account linked to a user: `provider_id` is the ID token's `sub`.
create table auth.identities (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  provider text not null,
  provider_id text not null,
  identity_data jsonb not null default '{}',
  email text,
  last_sign_in_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (provider, provider_id)
);
create index on auth.identities (user_id);

revoke all on auth.flow_states, auth.identities from public;
