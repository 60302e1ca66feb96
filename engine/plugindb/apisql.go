package plugindb

// The SQL of vbwd_api, the only engine objects a plugin role may call.

// setupSQL is the database-wide part, run once per engine start under the
// migration lock: the schema of the functions plugin roles may call, and no
// CREATE on public for PUBLIC (PostgreSQL 15 already drops it; older ones
// grant it). vbwd_api.publish_event inserts an outbox row for the plugin
// whose role is logged in (session_user cannot be changed without
// superuser), only for that plugin's own event names, and wakes the delivery
// workers at commit (NOTIFY) unless p_notify is false: the engine's own
// calls wake its workers itself after the commit, because PostgreSQL
// serialises the commits of notifying transactions (a write route with a
// durable event ran at a third of its speed); plugin SQL calling the
// three-argument form always notifies. Its search_path is pinned so that no plugin object can
// stand in for what it calls.
const setupSQL = `
create schema if not exists vbwd;
create schema if not exists vbwd_api;
revoke all on schema vbwd, vbwd_api from public;
create or replace function vbwd_api.publish_event(p_id uuid, p_name text, p_payload jsonb, p_notify boolean) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $fn$
declare
  src text;
begin
  if left(session_user, length('` + RolePrefix + `')) <> '` + RolePrefix + `' then
    raise exception 'vbwd_api.publish_event: % is not a plugin role', session_user using errcode = '42501';
  end if;
  src := substr(session_user, length('` + RolePrefix + `') + 1);
  if left(p_name, length(src) + 1) <> src || '.' then
    raise exception 'vbwd_api.publish_event: plugin % may only publish its own events (%.<event>), not %', src, src, p_name
      using errcode = '42501';
  end if;
  insert into vbwd.events_outbox (id, name, source, payload) values (p_id, p_name, src, coalesce(p_payload, 'null'::jsonb));
  if p_notify then
    perform pg_notify('` + EventsChannel + `', '');
  end if;
end
$fn$;
create or replace function vbwd_api.publish_event(p_id uuid, p_name text, p_payload jsonb) returns void
language sql security definer set search_path = pg_catalog, pg_temp as $fn$
  select vbwd_api.publish_event(p_id, p_name, p_payload, true);
$fn$;
revoke all on function vbwd_api.publish_event(uuid, text, jsonb) from public;
revoke all on function vbwd_api.publish_event(uuid, text, jsonb, boolean) from public;`
