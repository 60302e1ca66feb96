local t = require("vbwd.test")
local db = require("vbwd.db")
local crypto = require("vbwd.crypto")
local json = require("vbwd.json")

local BASE = "/api/v1/accounts"
local ADMIN = { id = "admin-1", roles = { "admin" } }
local PASSWORD = "correct horse battery"

-- the tests below sign up and log in far more often than the per-address
-- rates allow one client; "rate limits per client address" tests those
local GENEROUS = { login_rate_per_address = "1000/s", signup_rate_per_address = "1000/s" }
local function config(extra)
  local cfg = {}
  for k, v in pairs(GENEROUS) do cfg[k] = v end
  for k, v in pairs(extra or {}) do cfg[k] = v end
  t.config(cfg)
end
config()

-- claims reads a JWT's payload (the engine checks signatures; here we only
-- look at what the token says)
local function claims(token)
  local payload = token:match("^[^.]+%.([^.]+)%.[^.]+$")
  return json.decode(crypto.base64_decode(payload))
end

-- signup makes an account and returns it with the verification token taken
-- from the durable event
local function signup(email, password)
  local res = t.post(BASE .. "/signup", { json = { email = email, password = password or PASSWORD } })
  t.eq(res.status, 201, res.body)
  local ev = t.expect_event("accounts.verification_requested")
  return res.json, ev.payload.token
end

local function verified(email)
  local acc, token = signup(email)
  t.eq(t.post(BASE .. "/verify", { json = { token = token } }).status, 200)
  return acc
end

local function login(email, password)
  return t.post(BASE .. "/login", { json = { email = email, password = password or PASSWORD } })
end

t.test("sign-up stores an argon2id hash and sends a verification token by event", function()
  local res = t.post(BASE .. "/signup", { json = { email = "  Ada@Example.com ", password = PASSWORD } })
  t.eq(res.status, 201)
  t.eq(res.json.email, "ada@example.com")
  t.eq(res.json.verified, false)
  t.eq(res.json.roles, { "user" })
  t.eq(res.headers["location"], BASE .. "/accounts/" .. res.json.id)
  local ev = t.expect_event("accounts.verification_requested")
  t.eq(ev.payload.account_id, res.json.id)
  t.eq(ev.payload.email, "ada@example.com")
  t.match(ev.payload.token, "^[%w_-]+$")
  t.ok(ev.payload.expires_at)
  t.expect_event("accounts.signed_up")
  local row = db.query_one("select password_hash from accounts_accounts where id = $1", res.json.id)
  t.match(row.password_hash, "^%$argon2id%$")
  -- only the token's digest is stored
  t.eq(db.query_one("select count(*)::int as n from accounts_tokens where hash = $1", ev.payload.token).n, 0)
end)

t.test("sign-up refuses a taken address, bad addresses, short passwords and bad bodies", function()
  signup("bob@example.com")
  local res = t.post(BASE .. "/signup", { json = { email = "BOB@example.com", password = PASSWORD } })
  t.eq(res.status, 409)
  t.eq(res.json.field, "email")
  for _, bad in ipairs({ "bob", "bob@", "@example.com", "b ob@example.com", 42 }) do
    res = t.post(BASE .. "/signup", { json = { email = bad, password = PASSWORD } })
    t.eq(res.status, 422, t.repr(bad))
    t.eq(res.json.field, "email")
  end
  res = t.post(BASE .. "/signup", { json = { email = "carol@example.com", password = "short" } })
  t.eq(res.status, 422)
  t.eq(res.json.field, "password")
  local long = { email = "carol@example.com", password = string.rep("x", 1025) }
  t.eq(t.post(BASE .. "/signup", { json = long }).status, 422)
  t.eq(t.post(BASE .. "/signup", { body = "{not json" }).status, 400)
  t.eq(t.post(BASE .. "/signup", { json = "a string" }).status, 400)
end)

t.test("verification: the token works once, and not after it expires", function()
  t.time.set("2026-05-01T00:00:00Z")
  local acc, token = signup("dan@example.com")
  local res = t.post(BASE .. "/verify", { json = { token = token } })
  t.eq(res.status, 200)
  t.eq(res.json.verified, true)
  t.eq(res.json.id, acc.id)
  t.expect_event("accounts.verified")
  t.eq(t.post(BASE .. "/verify", { json = { token = token } }).status, 400)

  local _, late = signup("erin@example.com")
  t.time.advance(86400 + 1)
  res = t.post(BASE .. "/verify", { json = { token = late } })
  t.eq(res.status, 400)
  t.eq(res.json.field, "token")
  t.eq(t.post(BASE .. "/verify", { json = { token = "not a token!" } }).status, 400)
  t.eq(t.post(BASE .. "/verify", { json = {} }).status, 400)
  t.eq(t.post(BASE .. "/verify", { json = { token = crypto.random_token() } }).status, 400)
end)

t.test("resend sends a new verification token only to unverified accounts", function()
  signup("fay@example.com")
  local res = t.post(BASE .. "/verify/resend", { json = { email = "fay@example.com" } })
  t.eq(res.status, 202)
  local _, all = t.expect_event("accounts.verification_requested")
  t.eq(#all, 2)
  t.eq(t.post(BASE .. "/verify", { json = { token = all[2].payload.token } }).status, 200)
  -- verified or unknown: the same answer, no event
  t.eq(t.post(BASE .. "/verify/resend", { json = { email = "fay@example.com" } }).status, 202)
  t.eq(t.post(BASE .. "/verify/resend", { json = { email = "nobody@example.com" } }).status, 202)
  _, all = t.expect_event("accounts.verification_requested")
  t.eq(#all, 2)
  t.eq(t.post(BASE .. "/verify/resend", { json = { email = "x" } }).status, 422)
end)

t.test("login answers an access token signed by the engine and a refresh token", function()
  local acc = verified("gus@example.com")
  local res = login("GUS@example.com")
  t.eq(res.status, 200, res.body)
  t.eq(res.json.token_type, "Bearer")
  t.eq(res.json.expires_in, 900)
  t.match(res.json.refresh_token, "^[%w_-]+$")
  local c = claims(res.json.access_token)
  t.eq(c.sub, acc.id)
  t.eq(c.roles, { "user" })
  t.eq(c.email, "gus@example.com")
  t.eq(c.vbwd_plugin, "accounts")
  t.eq(c.exp - c.iat, 900)
end)

t.test("login refuses wrong passwords, unknown and unverified addresses", function()
  verified("hal@example.com")
  local res = login("hal@example.com", "wrong password!")
  t.eq(res.status, 401)
  t.eq(res.json.error, "invalid email or password")
  t.eq(login("nobody@example.com").status, 401)
  t.eq(t.post(BASE .. "/login", { json = { email = "hal@example.com" } }).status, 401)
  t.eq(t.post(BASE .. "/login", { json = "x" }).status, 400)
  signup("ida@example.com")
  res = login("ida@example.com")
  t.eq(res.status, 403)
  config({ require_verified_email = false })
  t.eq(login("ida@example.com").status, 200)
end)

t.test("failed logins in a row lock the account, then it opens again", function()
  t.time.set("2026-06-01T00:00:00Z")
  verified("jo@example.com")
  for i = 1, 5 do
    t.eq(login("jo@example.com", "wrong password!").status, 401, "attempt " .. i)
  end
  local res = login("jo@example.com") -- even the right password waits
  t.eq(res.status, 429)
  t.eq(res.headers["retry-after"], "900")
  t.time.advance(600)
  t.eq(login("jo@example.com").headers["retry-after"], "300")
  t.time.advance(301)
  t.eq(login("jo@example.com").status, 200)
  -- a success resets the count
  for _ = 1, 4 do login("jo@example.com", "wrong password!") end
  t.eq(login("jo@example.com").status, 200)
  t.eq(login("jo@example.com", "wrong password!").status, 401)
end)

t.test("refresh rotates; a reused refresh token revokes the whole family", function()
  verified("kim@example.com")
  local first = login("kim@example.com").json
  local res = t.post(BASE .. "/refresh", { json = { refresh_token = first.refresh_token } })
  t.eq(res.status, 200)
  local second = res.json
  t.ok(second.refresh_token ~= first.refresh_token)
  t.eq(claims(second.access_token).sub, claims(first.access_token).sub)

  -- the first token again: reuse, the family (second included) is revoked
  res = t.post(BASE .. "/refresh", { json = { refresh_token = first.refresh_token } })
  t.eq(res.status, 401)
  t.match(res.json.error, "reused")
  t.expect_event("accounts.refresh_reuse")
  t.eq(t.post(BASE .. "/refresh", { json = { refresh_token = second.refresh_token } }).status, 401)
  -- another session of the same account is untouched
  local other = login("kim@example.com").json
  t.eq(t.post(BASE .. "/refresh", { json = { refresh_token = other.refresh_token } }).status, 200)
end)

t.test("refresh refuses expired, unknown and malformed tokens", function()
  t.time.set("2026-07-01T00:00:00Z")
  verified("lee@example.com")
  local s = login("lee@example.com").json
  t.time.advance(2592000 + 1)
  t.eq(t.post(BASE .. "/refresh", { json = { refresh_token = s.refresh_token } }).status, 401)
  t.eq(t.post(BASE .. "/refresh", { json = { refresh_token = crypto.random_token() } }).status, 401)
  t.eq(t.post(BASE .. "/refresh", { json = { refresh_token = "x" } }).status, 400)
  t.eq(t.post(BASE .. "/refresh", { json = {} }).status, 400)
end)

t.test("logout ends the session; logging out twice is fine", function()
  verified("mo@example.com")
  local s = login("mo@example.com").json
  t.eq(t.post(BASE .. "/logout", { json = { refresh_token = s.refresh_token } }).status, 204)
  t.eq(t.post(BASE .. "/refresh", { json = { refresh_token = s.refresh_token } }).status, 401)
  t.eq(t.post(BASE .. "/logout", { json = { refresh_token = s.refresh_token } }).status, 204)
  t.eq(t.post(BASE .. "/logout", { json = {} }).status, 400)
end)

t.test("password reset: a single-use token by event, sessions end, the new password works", function()
  t.time.set("2026-08-01T00:00:00Z")
  verified("ned@example.com")
  local s = login("ned@example.com").json
  t.eq(t.post(BASE .. "/password/forgot", { json = { email = "NED@example.com" } }).status, 202)
  local ev = t.expect_event("accounts.password_reset_requested")
  t.eq(ev.payload.email, "ned@example.com")
  local res = t.post(BASE .. "/password/reset", { json = { token = ev.payload.token, password = "short" } })
  t.eq(res.status, 422)
  res = t.post(BASE .. "/password/reset", { json = { token = ev.payload.token, password = "a new long password" } })
  t.eq(res.status, 200)
  local again = { token = ev.payload.token, password = "yet another one!" }
  t.eq(t.post(BASE .. "/password/reset", { json = again }).status, 400)
  t.eq(t.post(BASE .. "/refresh", { json = { refresh_token = s.refresh_token } }).status, 401)
  t.eq(login("ned@example.com").status, 401)
  t.eq(login("ned@example.com", "a new long password").status, 200)

  -- unknown address: same answer, no event; an expired token is refused
  t.eq(t.post(BASE .. "/password/forgot", { json = { email = "nobody@example.com" } }).status, 202)
  local _, all = t.expect_event("accounts.password_reset_requested")
  t.eq(#all, 1)
  t.eq(t.post(BASE .. "/password/forgot", { json = { email = "ned@example.com" } }).status, 202)
  ev = t.expect_event("accounts.password_reset_requested")
  t.time.advance(3600 + 1)
  local late = { token = ev.payload.token, password = "too late, sorry" }
  t.eq(t.post(BASE .. "/password/reset", { json = late }).status, 400)
  t.eq(t.post(BASE .. "/password/forgot", { json = {} }).status, 422)
end)

t.test("/me needs a token of this engine's accounts", function()
  config({ require_verified_email = true })
  t.eq(t.get(BASE .. "/me").status, 401)
  local acc = verified("oz@example.com")
  local s = login("oz@example.com").json
  local res = t.get(BASE .. "/me", { headers = { authorization = "Bearer " .. s.access_token } })
  t.eq(res.status, 200)
  t.eq(res.json.id, acc.id)
  t.eq(res.json.email, "oz@example.com")
  t.eq(res.json.verified, true)
  -- a development token (shared secret) names no issuer: not an account's
  t.eq(t.get(BASE .. "/me", { as = { id = acc.id } }).status, 404)
  local forged = s.access_token:sub(1, -3) .. (s.access_token:sub(-2) == "AA" and "BB" or "AA")
  t.eq(t.get(BASE .. "/me", { headers = { authorization = "Bearer " .. forged } }).status, 401)
  -- the access token expires with its ttl (the engine judges it on the test clock)
  t.time.advance(900 + 31)
  t.eq(t.get(BASE .. "/me", { headers = { authorization = "Bearer " .. s.access_token } }).status, 401)
end)

t.test("an admin reads accounts and sets roles; others may not", function()
  local acc = verified("pat@example.com")
  local path = BASE .. "/accounts/" .. acc.id
  t.eq(t.get(path).status, 401)
  t.eq(t.get(path, { as = { id = "u", roles = { "user" } } }).status, 403)
  local res = t.get(path, { as = ADMIN })
  t.eq(res.status, 200)
  t.eq(res.json.email, "pat@example.com")
  t.eq(t.get(BASE .. "/accounts/not-a-uuid", { as = ADMIN }).status, 404)
  t.eq(t.get(BASE .. "/accounts/" .. crypto.uuid(), { as = ADMIN }).status, 404)

  local s = login("pat@example.com").json
  local as_user = { id = "u", roles = { "user" } }
  t.eq(t.put(path .. "/roles", { json = { roles = { "subscriber" } }, as = as_user }).status, 403)
  res = t.put(path .. "/roles", { json = { roles = { "subscriber", "editor", "subscriber" } }, as = ADMIN })
  t.eq(res.status, 200)
  t.eq(res.json.roles, { "editor", "subscriber" })
  local ev = t.expect_event("accounts.roles_changed")
  t.eq(ev.payload.by, "admin-1")
  -- the next refresh carries the new roles
  local r2 = t.post(BASE .. "/refresh", { json = { refresh_token = s.refresh_token } }).json
  t.eq(claims(r2.access_token).roles, { "editor", "subscriber" })

  res = t.put(path .. "/roles", { json = { roles = { "Bad Role" } }, as = ADMIN })
  t.eq(res.status, 422)
  t.eq(res.json.field, "roles")
  t.eq(t.put(path .. "/roles", { json = { roles = "admin" }, as = ADMIN }).status, 422)
  t.eq(t.put(BASE .. "/accounts/" .. crypto.uuid() .. "/roles", { json = { roles = {} }, as = ADMIN }).status, 404)
end)

t.test("an account's access token carries its roles to other routes' permissions", function()
  local acc = verified("quin@example.com")
  t.eq(t.put(BASE .. "/accounts/" .. acc.id .. "/roles", { json = { roles = { "admin" } }, as = ADMIN }).status, 200)
  local s = login("quin@example.com").json
  local res = t.get(BASE .. "/accounts/" .. acc.id, { headers = { authorization = "Bearer " .. s.access_token } })
  t.eq(res.status, 200)
  t.eq(res.json.roles, { "admin" })
end)

t.test("rate limits per client address: login and sign-up answer 429 with Retry-After", function()
  config({ login_rate_per_address = "3/m", signup_rate_per_address = "2/h" })
  t.time.set("2026-09-01T00:00:10Z")
  for i = 1, 3 do
    t.eq(login("nobody@example.com").status, 401, "login " .. i)
  end
  local res = login("nobody@example.com")
  t.eq(res.status, 429)
  t.eq(res.json.error, "too many requests")
  t.eq(res.headers["retry-after"], "50")
  t.time.advance(50)
  t.eq(login("nobody@example.com").status, 401)

  t.eq(t.post(BASE .. "/signup", { json = { email = "r1@example.com", password = PASSWORD } }).status, 201)
  t.eq(t.post(BASE .. "/signup", { json = { email = "r2@example.com", password = PASSWORD } }).status, 201)
  res = t.post(BASE .. "/signup", { json = { email = "r3@example.com", password = PASSWORD } })
  t.eq(res.status, 429)
  t.ok(tonumber(res.headers["retry-after"]) > 0)
end)
