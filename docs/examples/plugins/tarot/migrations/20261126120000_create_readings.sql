-- migrate:up
create table tarot_readings (
  id      bigserial primary key,
  user_id text not null,
  card    text not null,
  seen    boolean not null default false
);

-- migrate:down
drop table tarot_readings;
