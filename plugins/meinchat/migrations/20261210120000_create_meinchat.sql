-- migrate:up
create table meinchat_nicknames (
  user_id    text primary key,
  nickname   text not null unique check (length(nickname) between 2 and 32),
  updated_at timestamptz not null default now()
);

create table meinchat_rooms (
  id         bigserial primary key,
  slug       text not null unique,
  title      text not null check (length(title) between 1 and 200),
  created_by text not null,
  created_at timestamptz not null default now()
);

create table meinchat_members (
  room_id   bigint not null references meinchat_rooms (id) on delete cascade,
  user_id   text not null,
  role      text not null default 'member' check (role in ('owner', 'member')),
  read_only boolean not null default false,
  joined_at timestamptz not null default now(),
  primary key (room_id, user_id)
);

create index meinchat_members_user_idx on meinchat_members (user_id);

create table meinchat_messages (
  id         bigserial primary key,
  room_id    bigint not null references meinchat_rooms (id) on delete cascade,
  user_id    text not null,
  body       text not null,
  created_at timestamptz not null default now()
);

create index meinchat_messages_room_idx on meinchat_messages (room_id, id desc);
create index meinchat_messages_created_idx on meinchat_messages (created_at);

-- migrate:down
drop table meinchat_messages;
drop table meinchat_members;
drop table meinchat_rooms;
drop table meinchat_nicknames;
