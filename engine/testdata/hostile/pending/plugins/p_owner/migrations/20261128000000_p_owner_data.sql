-- migrate:up
create table p_owner_data (id bigserial primary key, v text not null);
insert into p_owner_data (v) values ('owned');

-- migrate:down
drop table p_owner_data;
