-- migrate:up
drop table p_owner_data;

-- migrate:down
select 1;
