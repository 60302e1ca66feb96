-- Tables of this round's features, made at start by DDL strings before
-- they became migrations (idempotent over such a database):
-- vbwd.plugin_archives: package archives every node installs from (engine/packages.go);
-- vbwd.rate_limits: the route option rate's fixed windows (internal/ratelimit);
-- vbwd.stream_tickets: stream tickets already used, single use across nodes (engine/streamticket.go).

-- migrate:up
create table if not exists vbwd.plugin_archives (
  sha256     text primary key,
  name       text not null,
  version    text not null,
  hash       text not null,
  data       bytea not null,
  created_at timestamptz not null default now()
);
create index if not exists plugin_archives_name_hash on vbwd.plugin_archives (name, hash);
create index if not exists admin_changes_packages on vbwd.admin_changes (id) where action = 'packages';

create table if not exists vbwd.rate_limits (
  key          text not null,
  window_start timestamptz not null,
  window_end   timestamptz not null,
  count        integer not null,
  primary key (key, window_start)
);
create index if not exists rate_limits_end_idx on vbwd.rate_limits (window_end);

create table if not exists vbwd.stream_tickets (id text primary key, expires_at timestamptz not null);
create index if not exists stream_tickets_expires on vbwd.stream_tickets (expires_at);

-- migrate:down
-- The engine never rolls its own schema back (see the first migration).
