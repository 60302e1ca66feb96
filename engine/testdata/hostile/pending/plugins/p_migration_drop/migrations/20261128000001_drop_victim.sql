-- migrate:up
drop table victim_secrets;

-- migrate:down
select 1;
