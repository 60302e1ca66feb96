-- accounts: sign-up, e-mail verification, password reset, login with
-- rotating refresh tokens, logout, /me and role management.
--
-- Access tokens are signed by the engine (vbwd.auth.issue): the engine
-- accepts them as bearer tokens on every plugin's routes, and other services
-- verify them with /.well-known/jwks.json. Mail is not sent here: the tokens
-- for verification and reset travel in durable events
-- (accounts.verification_requested, accounts.password_reset_requested) that
-- a mail plugin delivers.
local db = require("vbwd.db")
local auth = require("vbwd.auth")
local crypto = require("vbwd.crypto")
local events = require("vbwd.events")
local vtime = require("vbwd.time")
local validate = require("accounts.validate")
local store = require("accounts.store")
local sessions = require("accounts.sessions")

local P = {
  name = "accounts",
  version = "1.0.0",
  description = "User accounts: sign-up, e-mail verification, password reset, login, refresh tokens, roles",
  author = "vbwd",
  url_prefix = "/api/v1/accounts",
}

local MANAGE = "accounts.roles.manage"
local READ = "accounts.read"

local config

function P.initialize(cfg)
  config = cfg
end

function P.on_enable(ctx)
  ctx:permission(MANAGE, { description = "Set the roles of any account", roles = { "admin" } })
  ctx:permission(READ, { description = "Read any account", roles = { "admin" } })
end

local function check(err)
  if err then error(err, 0) end
end

-- throttled turns the 429 a login raises into an answer with Retry-After.
local function answer(fn, ...)
  local ok, res = pcall(fn, ...)
  if ok then return 200, res end
  if type(res) == "table" and res.status == 429 then
    return 429, { error = res.message }, { ["Retry-After"] = tostring(res.retry_after) }
  end
  error(res, 0)
end

local function account_or_404(id)
  local row = store.find(id)
  if not row then error({ status = 404, message = "no such account" }, 0) end
  return row
end

function P.routes(r)
  -- POST /signup {email, password} -> 201 account; the verification token
  -- goes out in accounts.verification_requested
  r:post("/signup", { rate = { limit = config.signup_rate_per_address, key = "ip" } }, function(req)
    local body = validate.body(req)
    local email = validate.email(body.email)
    local password = validate.password(body.password, config.min_password_length)
    local hash, herr = crypto.password_hash(password)
    if not hash then error(herr, 0) end
    local account, txerr = db.tx(function(tx)
      local acc = store.create(tx, email, hash, config.default_roles or {}, vtime.now())
      if not acc then return nil end
      store.send(tx, acc, "verify", config.verify_ttl_seconds, "accounts.verification_requested")
      local _, perr = events.publish("accounts.signed_up", { account_id = acc.id, email = acc.email })
      if perr then error(perr, 0) end
      return acc
    end)
    check(txerr)
    if not account then
      error({ status = 409, message = "an account with this e-mail address exists", field = "email" }, 0)
    end
    return 201, store.shape(account), { Location = "/api/v1/accounts/accounts/" .. account.id }
  end)

  -- POST /verify {token} -> 200 account
  r:post("/verify", function(req)
    local token = validate.token(validate.body(req).token, "token")
    local id, txerr = db.tx(function(tx)
      local aid = store.redeem(tx, token, "verify")
      if not aid then return nil end
      local _, err = tx.exec("update accounts_accounts set verified_at = coalesce(verified_at, to_timestamp($2)),"
        .. " updated_at = to_timestamp($2) where id = $1", aid, vtime.now())
      check(err)
      local _, perr = events.publish("accounts.verified", { account_id = aid })
      if perr then error(perr, 0) end
      return aid
    end)
    check(txerr)
    if not id then error({ status = 400, message = "invalid or expired token", field = "token" }, 0) end
    return 200, store.shape(store.find(id))
  end)

  -- POST /verify/resend {email} -> 202 whether or not the address is known
  r:post("/verify/resend", { rate = { limit = config.signup_rate_per_address, key = "ip" } }, function(req)
    local email = validate.email(validate.body(req).email)
    local acc = store.find_by_email(email)
    if acc and not acc.verified then
      local _, txerr = db.tx(function(tx)
        store.send(tx, acc, "verify", config.verify_ttl_seconds, "accounts.verification_requested")
      end)
      check(txerr)
    end
    return 202, { status = "if the address has an unverified account, a message is on its way" }
  end)

  -- POST /password/forgot {email} -> 202 whether or not the address is known
  r:post("/password/forgot", { rate = { limit = config.signup_rate_per_address, key = "ip" } }, function(req)
    local email = validate.email(validate.body(req).email)
    local acc = store.find_by_email(email)
    if acc then
      local _, txerr = db.tx(function(tx)
        store.send(tx, acc, "reset", config.reset_ttl_seconds, "accounts.password_reset_requested")
      end)
      check(txerr)
    end
    return 202, { status = "if the address has an account, a message is on its way" }
  end)

  -- POST /password/reset {token, password} -> 200; every session ends
  r:post("/password/reset", function(req)
    local body = validate.body(req)
    local token = validate.token(body.token, "token")
    local password = validate.password(body.password, config.min_password_length)
    local hash, herr = crypto.password_hash(password)
    if not hash then error(herr, 0) end
    local id, txerr = db.tx(function(tx)
      local aid = store.redeem(tx, token, "reset")
      if not aid then return nil end
      -- the mail reached its owner: that verifies the address too
      local _, err = tx.exec("update accounts_accounts set password_hash = $2, failed_logins = 0, locked_until = null,"
        .. " verified_at = coalesce(verified_at, to_timestamp($3)), updated_at = to_timestamp($3) where id = $1",
        aid, hash, vtime.now())
      check(err)
      sessions.revoke_all(tx, aid)
      return aid
    end)
    check(txerr)
    if not id then error({ status = 400, message = "invalid or expired token", field = "token" }, 0) end
    return 200, { status = "password changed: sign in again" }
  end)

  -- POST /login {email, password} -> 200 {access_token, refresh_token, ...}
  -- per client address (the engine counts, shared across nodes), beside the
  -- per-account lockout in accounts.sessions
  r:post("/login", { rate = { limit = config.login_rate_per_address, key = "ip" } }, function(req)
    local body = validate.body(req)
    if type(body.email) ~= "string" or type(body.password) ~= "string" or #body.password > 1024 then
      error({ status = 401, message = "invalid email or password" }, 0)
    end
    return answer(sessions.login, validate.email(body.email), body.password, config)
  end)

  -- POST /refresh {refresh_token} -> 200 a new pair; a reused token revokes its family
  r:post("/refresh", function(req)
    local token = validate.token(validate.body(req).refresh_token, "refresh_token")
    return 200, sessions.refresh(token, config)
  end)

  -- POST /logout {refresh_token} -> 204
  r:post("/logout", function(req)
    sessions.logout(validate.token(validate.body(req).refresh_token, "refresh_token"))
    return 204
  end)

  -- GET /me -> the signed-in account (a token of this engine's accounts)
  r:get("/me", { auth = true }, function(req)
    local acc = req.user.claims and req.user.claims.iss == auth.issuer() and store.find(req.user.id)
    if not acc then error({ status = 404, message = "no account for this token" }, 0) end
    return 200, store.shape(acc)
  end)

  r:get("/accounts/{id}", { permission = READ }, function(req)
    return 200, store.shape(account_or_404(req.params.id))
  end)

  -- PUT /accounts/{id}/roles {roles = [...]} -> 200 account; effective from
  -- the account's next login or refresh
  r:put("/accounts/{id}/roles", { permission = MANAGE }, function(req)
    local roles = validate.roles(validate.body(req).roles)
    local acc = account_or_404(req.params.id)
    local _, err = db.exec("update accounts_accounts set roles = $2, updated_at = to_timestamp($3) where id = $1",
      acc.id, roles, vtime.now())
    check(err)
    local _, perr = events.publish("accounts.roles_changed", { account_id = acc.id, roles = roles, by = req.user.id })
    if perr then error(perr, 0) end
    return 200, store.shape(store.find(acc.id))
  end)
end

return P
