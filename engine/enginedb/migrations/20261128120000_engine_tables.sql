-- The engine's own tables in schema vbwd, as the engines before migrations
-- made them at start (DDL strings in outbox.go, cluster.go, scheduler.go and
-- streamkey.go). Every statement is idempotent: over a database those
-- engines created it changes nothing, and this version is recorded.

-- migrate:up
create schema if not exists vbwd;

-- durable events (engine/outbox)
create table if not exists vbwd.events_outbox (
  id              uuid primary key,
  name            text not null,
  source          text not null,
  payload         jsonb not null default 'null',
  status          text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
  attempts        integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  locked_until    timestamptz,
  locked_by       text,
  last_error      text,
  created_at      timestamptz not null default now(),
  delivered_at    timestamptz,
  waiting_for     text[]
);
alter table vbwd.events_outbox add column if not exists waiting_for text[];
do $$ begin
  if not exists (select 1 from pg_constraint where conname = 'events_outbox_status_parked') then
    alter table vbwd.events_outbox drop constraint if exists events_outbox_status_check;
    alter table vbwd.events_outbox add constraint events_outbox_status_parked
      check (status in ('pending', 'delivered', 'dead', 'parked'));
  end if;
end $$;
create index if not exists events_outbox_parked on vbwd.events_outbox using gin (waiting_for) where status = 'parked';
create table if not exists vbwd.event_subscriptions (
  plugin text not null,
  event  text not null,
  since  timestamptz not null default now(),
  primary key (plugin, event)
);
create index if not exists events_outbox_due on vbwd.events_outbox (next_attempt_at) where status = 'pending';
create index if not exists events_outbox_delivered on vbwd.events_outbox (delivered_at) where status = 'delivered';
create table if not exists vbwd.events_deliveries (
  event_id     uuid not null references vbwd.events_outbox (id) on delete cascade,
  plugin       text not null,
  delivered_at timestamptz not null default now(),
  primary key (event_id, plugin)
);

-- admin change log and node reports (engine/cluster)
create table if not exists vbwd.admin_changes (
  id         bigserial primary key,
  node       text not null,
  action     text not null,
  plugin     text not null default '',
  payload    jsonb,
  created_at timestamptz not null default now()
);
create table if not exists vbwd.nodes (
  node       text not null,
  plugin     text not null,
  state      text not null,
  generation bigint not null,
  hash       text not null,
  updated_at timestamptz not null default now(),
  primary key (node, plugin)
);

-- scheduled jobs (scheduler.go)
create table if not exists vbwd.jobs (
  plugin      text not null,
  name        text not null,
  next_run_at timestamptz not null,
  last_node   text,
  primary key (plugin, name)
);

-- the key signing stream notifications between engines (streamkey.go)
create table if not exists vbwd.keys (name text primary key, key bytea not null);

-- migrate:down
-- The engine never rolls its own schema back: its tables hold events,
-- the change log and keys other engines on the database still use.
