-- migrate:up
create table subscription_plans (
  id          uuid primary key default gen_random_uuid(),
  slug        text not null unique,
  name        text not null check (length(name) between 1 and 200),
  price_minor integer not null check (price_minor >= 0),
  currency    char(3) not null check (currency ~ '^[A-Z]{3}$'),
  "interval"  text not null check ("interval" in ('month', 'year')),
  features    jsonb not null default '{}'::jsonb,
  active      boolean not null default true,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create table subscription_subscriptions (
  id           uuid primary key default gen_random_uuid(),
  user_id      text not null,
  plan_id      uuid not null references subscription_plans (id),
  status       text not null check (status in ('pending', 'active', 'cancelled', 'expired')),
  period_start timestamptz not null,
  period_end   timestamptz not null,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now()
);

-- history is kept; a user has at most one active subscription
create unique index subscription_subscriptions_one_active
  on subscription_subscriptions (user_id) where status = 'active';
create index subscription_subscriptions_user_idx on subscription_subscriptions (user_id, created_at desc);
create index subscription_subscriptions_expiry_idx on subscription_subscriptions (period_end) where status = 'active';

-- migrate:down
drop table subscription_subscriptions;
drop table subscription_plans;
