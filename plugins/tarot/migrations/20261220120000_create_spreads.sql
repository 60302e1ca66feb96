-- migrate:up
create table tarot_spreads (
  id         bigserial primary key,
  user_id    text not null,
  spread     text not null check (spread in ('three-card')),
  drawn_on   date not null,
  created_at timestamptz not null,
  cards      jsonb not null  -- [{position, slug, reversed}], in position order
);

create index tarot_spreads_user_day_idx on tarot_spreads (user_id, drawn_on);

-- migrate:down
drop table tarot_spreads;
