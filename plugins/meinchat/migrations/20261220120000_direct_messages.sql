-- migrate:up
-- direct messages between two users; a conversation is the unordered pair
create table meinchat_direct_messages (
  id         bigserial primary key,
  sender     text not null,
  recipient  text not null check (recipient <> sender),
  body       text not null,
  created_at timestamptz not null,
  read_at    timestamptz
);

create index meinchat_dm_pair_idx on meinchat_direct_messages
  (least(sender, recipient), greatest(sender, recipient), id desc);
create index meinchat_dm_recipient_idx on meinchat_direct_messages (recipient, id desc);
create index meinchat_dm_sender_time_idx on meinchat_direct_messages (sender, created_at);
-- the send rate limit counts a user's recent room messages too
create index meinchat_messages_user_time_idx on meinchat_messages (user_id, created_at);

-- migrate:down
drop index meinchat_messages_user_time_idx;
drop table meinchat_direct_messages;
