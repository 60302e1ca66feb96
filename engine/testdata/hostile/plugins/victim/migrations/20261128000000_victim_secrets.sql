-- migrate:up
create table victim_secrets (id bigserial primary key, secret text not null);
insert into victim_secrets (secret) values ('victim-table-secret');

-- migrate:down
drop table victim_secrets;
