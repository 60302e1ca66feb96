-- accounts.store: accounts and the single-use tokens sent by mail.
--
-- Time: every timestamp written or compared comes from vbwd.time.now() and is
-- passed as to_timestamp($n) (as subscription does), so the test clock moves
-- token expiry and lockouts consistently.
local db = require("vbwd.db")
local crypto = require("vbwd.crypto")
local events = require("vbwd.events")
local json = require("vbwd.json")
local vtime = require("vbwd.time")

local M = {}

M.COLUMNS = "id, email, roles, verified_at is not null as verified, created_at"

local function check(err)
  if err then error(err, 0) end
end

function M.shape(row)
  return {
    id = row.id, email = row.email, roles = json.array(row.roles or {}),
    verified = row.verified, created_at = row.created_at,
  }
end

function M.find(id)
  local row, err = db.query_one("select " .. M.COLUMNS .. " from accounts_accounts where id = $1", id)
  if err and err.code == "22P02" then return nil end -- not a uuid
  check(err)
  return row
end

function M.find_by_email(email)
  local row, err = db.query_one("select id, email, roles, password_hash, verified_at is not null as verified,"
    .. " failed_logins, extract(epoch from locked_until)::float8 as locked_until"
    .. " from accounts_accounts where email = $1", email)
  check(err)
  return row
end

-- create inserts an account; nil when the address is taken (no error: an
-- error would abort the transaction).
function M.create(tx, email, hash, roles, now)
  local row, err = tx.query_one("insert into accounts_accounts (email, password_hash, roles, created_at, updated_at)"
    .. " values ($1, $2, $3, to_timestamp($4), to_timestamp($4))"
    .. " on conflict (email) do nothing returning " .. M.COLUMNS,
    email, hash, roles, now)
  check(err)
  return row
end

-- send makes a single-use token for purpose, stores its digest, and
-- publishes the durable event that carries it to a mail plugin, in tx.
function M.send(tx, account, purpose, ttl, event)
  local now = vtime.now()
  local token = crypto.random_token()
  local _, err = tx.exec("insert into accounts_tokens (hash, account_id, purpose, expires_at, created_at)"
    .. " values ($1, $2, $3, to_timestamp($4), to_timestamp($5))",
    crypto.sha256(token), account.id, purpose, now + ttl, now)
  check(err)
  local _, perr = events.publish(event, {
    account_id = account.id, email = account.email, token = token,
    expires_at = vtime.format(now + ttl),
  })
  if perr then error(perr, 0) end
  return token
end

-- redeem uses a token for purpose once: the account id, or nil when the
-- token is unknown, used or expired.
function M.redeem(tx, token, purpose)
  local row, err = tx.query_one("update accounts_tokens set used_at = to_timestamp($3)"
    .. " where hash = $1 and purpose = $2 and used_at is null and expires_at > to_timestamp($3)"
    .. " returning account_id", crypto.sha256(token), purpose, vtime.now())
  check(err)
  return row and row.account_id
end

return M
