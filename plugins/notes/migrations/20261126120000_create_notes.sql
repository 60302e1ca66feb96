-- migrate:up
create table notes_notes (
  id         uuid primary key default gen_random_uuid(),
  slug       text not null unique,
  title      text not null check (length(title) between 1 and 200),
  body       text not null default '',
  tags       text[] not null default '{}',
  pinned     boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index notes_notes_tags_idx on notes_notes using gin (tags);

-- migrate:down
drop table notes_notes;
