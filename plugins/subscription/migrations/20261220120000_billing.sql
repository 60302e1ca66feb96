-- migrate:up
-- Billing: trials, invoices, payments through a provider, renewal, past_due
-- with a grace period, plan changes, cancel at period end, idempotency.
alter table subscription_plans
  add column trial_days integer not null default 0 check (trial_days between 0 and 365);

alter table subscription_subscriptions drop constraint subscription_subscriptions_status_check;
alter table subscription_subscriptions add constraint subscription_subscriptions_status_check
  check (status in ('pending', 'trialing', 'active', 'past_due', 'cancelled', 'expired'));
alter table subscription_subscriptions
  add column auto_renew           boolean not null default true,  -- false: an admin grant, ends at period_end
  add column cancel_at_period_end boolean not null default false,
  add column grace_until          timestamptz,                     -- past_due: access until then
  add column next_plan_id         uuid references subscription_plans (id), -- a change at period end
  add column started_at           timestamptz,                     -- first live (a trial is given once per user)
  add column customer_ref         text,                            -- the provider's customer
  add column payment_method_ref   text;                            -- the provider's saved payment method

update subscription_subscriptions set started_at = period_start where status <> 'pending';

-- one live subscription per user: active, trialing or past_due
drop index subscription_subscriptions_one_active;
create unique index subscription_subscriptions_one_live
  on subscription_subscriptions (user_id) where status in ('trialing', 'active', 'past_due');
drop index subscription_subscriptions_expiry_idx;
create index subscription_subscriptions_due_idx
  on subscription_subscriptions (period_end) where status in ('trialing', 'active', 'past_due');

create sequence subscription_invoice_number;

create table subscription_invoices (
  id              uuid primary key default gen_random_uuid(),
  number          text not null unique,  -- INV-000001, gap-free enough for humans, never reused
  user_id         text not null,
  subscription_id uuid not null references subscription_subscriptions (id),
  kind            text not null check (kind in ('checkout', 'renewal', 'change')),
  status          text not null check (status in ('open', 'paid', 'void', 'uncollectible', 'refunded')),
  currency        char(3) not null,
  total_minor     integer not null,      -- the sum of the lines' amounts; negative: a credit
  lines           jsonb not null,        -- [{description, amount_minor, plan?, period_start?, period_end?}]
  plan_id         uuid not null references subscription_plans (id), -- the plan this invoice pays for
  period_start    timestamptz,
  period_end      timestamptz,
  payment_ref     text,                  -- the provider's payment id
  checkout_ref    text,                  -- the provider's checkout id
  checkout_url    text,
  idempotency_key text,                  -- the client's Idempotency-Key of the checkout
  request_hash    text,                  -- what that key was first used for
  attempts        integer not null default 0,
  last_error      text,
  last_attempt_at timestamptz,
  refunded_minor  integer not null default 0,
  created_at      timestamptz not null,
  paid_at         timestamptz,
  updated_at      timestamptz not null
);

create unique index subscription_invoices_idempotency
  on subscription_invoices (user_id, idempotency_key) where idempotency_key is not null;
create index subscription_invoices_user_idx on subscription_invoices (user_id, created_at desc);
create index subscription_invoices_sub_idx on subscription_invoices (subscription_id, status);

-- every provider event applied, once: a redelivered webhook finds its row
create table subscription_payment_events (
  provider    text not null,
  event_id    text not null,
  type        text not null,
  invoice_id  uuid,
  received_at timestamptz not null,
  primary key (provider, event_id)
);

-- migrate:down
drop table subscription_payment_events;
drop table subscription_invoices;
drop sequence subscription_invoice_number;
drop index subscription_subscriptions_due_idx;
create index subscription_subscriptions_expiry_idx on subscription_subscriptions (period_end) where status = 'active';
drop index subscription_subscriptions_one_live;
update subscription_subscriptions set status = 'active' where status in ('trialing', 'past_due');
create unique index subscription_subscriptions_one_active
  on subscription_subscriptions (user_id) where status = 'active';
alter table subscription_subscriptions
  drop column auto_renew, drop column cancel_at_period_end, drop column grace_until, drop column started_at,
  drop column next_plan_id, drop column customer_ref, drop column payment_method_ref;
alter table subscription_subscriptions drop constraint subscription_subscriptions_status_check;
alter table subscription_subscriptions add constraint subscription_subscriptions_status_check
  check (status in ('pending', 'active', 'cancelled', 'expired'));
alter table subscription_plans drop column trial_days;
