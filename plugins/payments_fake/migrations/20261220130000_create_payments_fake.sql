-- migrate:up
create table payments_fake_payments (
  id              text primary key,        -- fake_cs_... (a checkout) or fake_pi_... (a charge)
  kind            text not null check (kind in ('checkout', 'charge')),
  amount          integer not null check (amount > 0),
  currency        char(3) not null,
  reference       text not null,           -- the consumer's reference (subscription: the invoice id)
  customer        text,
  description     text,
  success_url     text,                    -- where the checkout page returns the customer
  cancel_url      text,
  status          text not null check (status in ('open', 'paid', 'failed', 'refunded')),
  refunded_minor  integer not null default 0,
  idempotency_key text unique,
  created_at      timestamptz not null,
  updated_at      timestamptz not null
);

-- the saved payment method of a customer, and whether charges to it are declined
create table payments_fake_customers (
  customer       text primary key,
  payment_method text not null,
  decline        boolean not null default false
);

-- migrate:down
drop table payments_fake_customers;
drop table payments_fake_payments;
