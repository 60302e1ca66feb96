-- What the engine before migrations ran at start (outboxSchema, clusterSchema,
-- jobsSchema, streamKeysSQL): a database it created.
create schema if not exists vbwd;
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
create schema if not exists vbwd;
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
create schema if not exists vbwd;
create table if not exists vbwd.jobs (
  plugin      text not null,
  name        text not null,
  next_run_at timestamptz not null,
  last_node   text,
  primary key (plugin, name)
);
create schema if not exists vbwd;
create table if not exists vbwd.keys (name text primary key, key bytea not null);
