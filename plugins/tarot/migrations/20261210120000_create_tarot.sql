-- migrate:up
create table tarot_cards (
  slug   text primary key,
  name   text not null,
  arcana text not null check (arcana in ('major', 'minor')),
  suit   text check (suit in ('wands', 'cups', 'swords', 'pentacles')),
  number integer not null check (number between 0 and 21),
  check ((arcana = 'major') = (suit is null))
);

create table tarot_readings (
  id         bigserial primary key,
  user_id    text not null,
  card       text not null references tarot_cards (slug),
  drawn_on   date not null,
  created_at timestamptz not null,
  kind       text not null check (kind in ('daily', 'welcome')),
  draw_no    integer,          -- daily: 1..limit within (user_id, drawn_on)
  event_id   text unique,      -- welcome: the subscription.activated event id (idempotency)
  check ((kind = 'daily') = (draw_no is not null))
);

create unique index tarot_readings_daily_draw on tarot_readings (user_id, drawn_on, draw_no) where kind = 'daily';
create index tarot_readings_user_idx on tarot_readings (user_id, id desc);

-- migrate:down
drop table tarot_readings;
drop table tarot_cards;
