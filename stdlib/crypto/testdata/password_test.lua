local crypto = require("vbwd.crypto")

local function match(s, pattern, msg)
  ok(type(s) == "string" and s:match(pattern), (msg or "") .. " " .. tostring(s) .. " does not match " .. pattern)
end

test("password_hash makes an argon2id PHC string with a fresh salt", function()
  local h = crypto.password_hash("correct horse")
  match(h, "^%$argon2id%$v=19%$m=19456,t=2,p=1%$[%w+/]+%$[%w+/]+$")
  ok(crypto.password_hash("correct horse") ~= h, "salted")
  eq(#h:match("%$([%w+/]+)$"), 43, "a 32-byte key, base64 without padding")
end)

test("password_verify accepts the password and refuses others", function()
  local h = crypto.password_hash("correct horse")
  eq(crypto.password_verify("correct horse", h), true)
  eq(crypto.password_verify("correct horsf", h), false)
  eq(crypto.password_verify("", h), false)
  eq(crypto.password_needs_rehash(h), false)
end)

test("malformed or hostile hashes are errors, not false", function()
  for _, bad in ipairs({
    "", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
    "$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
    "$argon2id$v=19$m=19456,t=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA!",
  }) do
    local v, e = crypto.password_verify("x", bad)
    eq(v, nil, bad)
    ok(e, bad)
  end
  local v, e = crypto.password_verify("x", "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
  eq(v, nil)
  match(e, "out of range")
  local r, e2 = crypto.password_needs_rehash("nope")
  eq(r, nil)
  ok(e2)
end)

test("a hash with older parameters verifies and needs a rehash", function()
  -- made by password_hash with m=8192,t=1,p=1 (see password_test.go)
  local old = "$argon2id$v=19$m=8192,t=1,p=1$AAECAwQFBgcICQoLDA0ODw$" ..
    "Bz0eH5mzjR0rmwhmHWh7jBoFfeo8KCdw3KK5kgD0sSs"
  eq(crypto.password_needs_rehash(old), true)
end)

test("bad arguments raise", function()
  err(function() crypto.password_hash() end, "bad argument #1")
  err(function() crypto.password_hash(string.rep("x", 1025)) end, "longer than 1024")
  err(function() crypto.password_verify("x") end, "bad argument #2")
end)
