-- migrate:up
create table accounts_accounts (
  id            uuid primary key default gen_random_uuid(),
  email         text not null check (length(email) between 3 and 254),
  password_hash text not null,
  roles         text[] not null default '{}',
  verified_at   timestamptz,
  failed_logins integer not null default 0,
  locked_until  timestamptz,
  created_at    timestamptz not null,
  updated_at    timestamptz not null
);
-- emails are stored lower-cased; one account per address
create unique index accounts_accounts_email_key on accounts_accounts (email);

-- single-use, expiring tokens sent by mail (e-mail verification, password
-- reset): only their SHA-256 is stored, so a database leak yields none
create table accounts_tokens (
  hash       text primary key,
  account_id uuid not null references accounts_accounts (id) on delete cascade,
  purpose    text not null check (purpose in ('verify', 'reset')),
  expires_at timestamptz not null,
  used_at    timestamptz,
  created_at timestamptz not null
);
create index accounts_tokens_account_idx on accounts_tokens (account_id, purpose);

-- rotating refresh tokens: each refresh uses one (used_at) and makes the
-- next of the same family; presenting a used one revokes the whole family
create table accounts_refresh_tokens (
  hash       text primary key,
  account_id uuid not null references accounts_accounts (id) on delete cascade,
  family     uuid not null,
  expires_at timestamptz not null,
  used_at    timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null
);
create index accounts_refresh_tokens_family_idx on accounts_refresh_tokens (family);
create index accounts_refresh_tokens_account_idx on accounts_refresh_tokens (account_id);

-- migrate:down
drop table accounts_refresh_tokens;
drop table accounts_tokens;
drop table accounts_accounts;
