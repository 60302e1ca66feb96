-- accounts.sessions: login, refresh-token rotation and logout.
--
-- A login starts a refresh-token family. Each refresh uses the presented
-- token (used_at) and hands out the next of the same family; a used token
-- presented again means it was copied, so the whole family is revoked and the
-- event accounts.refresh_reuse is published (a mail plugin may warn the user).
local db = require("vbwd.db")
local crypto = require("vbwd.crypto")
local events = require("vbwd.events")
local auth = require("vbwd.auth")
local vtime = require("vbwd.time")
local store = require("accounts.store")

local M = {}

-- A valid argon2id hash of a random password: a login for an unknown address
-- verifies against it, so it takes as long as one for a known address.
local DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$cZB7oyJZ0V4r7xsRfeNnXQ$"
  .. "nB2m5bM4nCOjd0hJRWbHeUj4u4WiRaeCwHExdn7z0+0"

local function check(err)
  if err then error(err, 0) end
end

local function unauthorized(message)
  error({ status = 401, message = message }, 0)
end

-- tokens issues an access token for account and a refresh token of family.
local function tokens(tx, account, family, cfg, now)
  local access, err = auth.issue({ sub = account.id, roles = account.roles or {}, ttl = cfg.access_ttl_seconds,
    claims = { email = account.email } })
  if not access then error(err, 0) end
  local refresh = crypto.random_token()
  local _, xerr = tx.exec("insert into accounts_refresh_tokens (hash, account_id, family, expires_at, created_at)"
    .. " values ($1, $2, $3, to_timestamp($4), to_timestamp($5))",
    crypto.sha256(refresh), account.id, family, now + cfg.refresh_ttl_seconds, now)
  check(xerr)
  return {
    access_token = access, token_type = "Bearer", expires_in = cfg.access_ttl_seconds,
    refresh_token = refresh, refresh_expires_in = cfg.refresh_ttl_seconds,
  }
end

local function locked(seconds)
  local wait = math.max(1, math.ceil(seconds))
  error({ status = 429, message = "too many failed logins: try again later", retry_after = wait }, 0)
end

-- failed counts a wrong password; the max_failed_logins-th in a row locks
-- the account for lockout_seconds.
local function failed(account, cfg, now)
  local _, err = db.exec("update accounts_accounts set"
    .. " failed_logins = case when failed_logins + 1 >= $2 then 0 else failed_logins + 1 end,"
    .. " locked_until = case when failed_logins + 1 >= $2 then to_timestamp($3) else locked_until end"
    .. " where id = $1", account.id, cfg.max_failed_logins, now + cfg.lockout_seconds)
  check(err)
end

-- login checks email and password and starts a session.
function M.login(email, password, cfg)
  local now = vtime.now()
  local account = store.find_by_email(email)
  if account and account.locked_until and account.locked_until > now then
    locked(account.locked_until - now) -- no hash: a locked account costs nothing
  end
  local ok, verr = crypto.password_verify(password, account and account.password_hash or DUMMY_HASH)
  if ok == nil then error(verr, 0) end
  if not account or not ok then
    if account then failed(account, cfg, now) end
    unauthorized("invalid email or password")
  end
  if cfg.require_verified_email and not account.verified then
    error({ status = 403, message = "verify your e-mail address first" }, 0)
  end
  local res, txerr = db.tx(function(tx)
    local _, err = tx.exec("update accounts_accounts set failed_logins = 0, locked_until = null where id = $1",
      account.id)
    check(err)
    if crypto.password_needs_rehash(account.password_hash) then
      local h = crypto.password_hash(password)
      if h then tx.exec("update accounts_accounts set password_hash = $2 where id = $1", account.id, h) end
    end
    return tokens(tx, account, crypto.uuid(), cfg, now)
  end)
  check(txerr)
  return res
end

-- refresh rotates a refresh token. Reuse of a used one revokes its family:
-- that revocation commits, then the call answers 401.
function M.refresh(token, cfg)
  local now = vtime.now()
  local outcome, res = db.tx(function(tx)
    local row, err = tx.query_one("select r.account_id, r.family, r.used_at is not null as used,"
      .. " r.revoked_at is not null as revoked, r.expires_at <= to_timestamp($2) as expired"
      .. " from accounts_refresh_tokens r where r.hash = $1 for update", crypto.sha256(token), now)
    check(err)
    if not row or row.revoked or row.expired then return "invalid" end
    if row.used then
      local _, rerr = tx.exec("update accounts_refresh_tokens set revoked_at = to_timestamp($2)"
        .. " where family = $1 and revoked_at is null", row.family, now)
      check(rerr)
      local _, perr = events.publish("accounts.refresh_reuse", { account_id = row.account_id, family = row.family })
      if perr then error(perr, 0) end
      return "reused"
    end
    local _, uerr = tx.exec("update accounts_refresh_tokens set used_at = to_timestamp($2) where hash = $1",
      crypto.sha256(token), now)
    check(uerr)
    local account = store.find(row.account_id)
    return "ok", tokens(tx, account, row.family, cfg, now)
  end)
  if outcome == nil then error(res, 0) end
  if outcome == "reused" then unauthorized("refresh token reused: the session is revoked, sign in again") end
  if outcome ~= "ok" then unauthorized("invalid or expired refresh token") end
  return res
end

-- logout revokes the family of a refresh token (unknown tokens are ignored:
-- logging out twice is not an error).
function M.logout(token)
  local _, err = db.exec("update accounts_refresh_tokens set revoked_at = to_timestamp($2)"
    .. " where family = (select family from accounts_refresh_tokens where hash = $1) and revoked_at is null",
    crypto.sha256(token), vtime.now())
  check(err)
end

-- revoke_all ends every session of an account (after a password reset).
function M.revoke_all(tx, account_id)
  local _, err = tx.exec("update accounts_refresh_tokens set revoked_at = to_timestamp($2)"
    .. " where account_id = $1 and revoked_at is null", account_id, vtime.now())
  check(err)
end

return M
