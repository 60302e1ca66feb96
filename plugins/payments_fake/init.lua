-- payments_fake: a payments provider for development and tests. It
-- implements the payments contract of subscription (docs/plugin-guide.md,
-- "The payments contract") without leaving the engine: its checkout URL is
-- served here, and POSTing to it marks the payment paid. Never enable it in
-- production: anyone can pay anything with it.
local provider = require("payments_fake.provider")

local P = {
  name = "payments_fake",
  version = "1.0.0",
  description = "Fake payments provider for development and tests (never in production)",
  author = "vbwd",
  dependencies = { "subscription@^1.0" },
  url_prefix = "/api/v1/payments_fake",
}

local MANAGE = "payments_fake.manage"

function P.initialize(cfg)
  provider.configure(cfg)
end

function P.on_enable(ctx)
  ctx:permission(MANAGE, { description = "Make a fake customer's charges fail or succeed", roles = { "admin" } })
  ctx:provide("payments_fake.payments", {
    create_checkout = provider.create_checkout,
    charge = provider.charge,
    refund = provider.refund,
    verify_webhook = provider.verify_webhook,
  })
end

local function public(p)
  return { id = p.id, amount = p.amount, currency = p.currency, description = p.description, status = p.status,
    pay = { method = "POST", url = "/api/v1/payments_fake/checkout/" .. p.id .. "/pay",
      body = { outcome = "paid | failed" } } }
end

local function escape(s)
  return (tostring(s):gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;",
    ["'"] = "&#39;" }))
end

-- page is the checkout as a browser sees it: what is paid, and two buttons
local function page(p)
  local action = "/api/v1/payments_fake/checkout/" .. escape(p.id) .. "/pay"
  local button = function(outcome, label)
    return '<form method="post" action="' .. action .. '"><input type="hidden" name="outcome" value="'
      .. outcome .. '"><button>' .. label .. "</button></form>"
  end
  return table.concat({
    "<!doctype html><title>payments_fake checkout</title>",
    "<h1>", escape(p.description or "Payment"), "</h1>",
    "<p>", escape(string.format("%d.%02d", math.floor(p.amount / 100), p.amount % 100)), " ", escape(p.currency),
    " (", escape(p.status), ")</p>",
    "<p>A development payments provider: nothing is charged.</p>",
    p.status == "open" and (button("paid", "Pay") .. button("failed", "Fail the payment")) or "",
  })
end

-- outcome_of reads {"outcome": ...} (JSON) or outcome=... (an HTML form)
local function outcome_of(req)
  if not req.body or req.body == "" then return "paid", false end
  local ctype = req.headers["content-type"] or ""
  local outcome, form
  if ctype:find("application/x-www-form-urlencoded", 1, true) then
    outcome, form = req.body:match("outcome=(%w+)"), true
  else
    local body = req:json()
    outcome = type(body) == "table" and body.outcome or nil
  end
  outcome = outcome or "paid"
  if outcome ~= "paid" and outcome ~= "failed" then
    error({ status = 422, message = "outcome must be paid or failed", field = "outcome" })
  end
  return outcome, form
end

function P.routes(r)
  -- the checkout page: HTML for a browser, JSON otherwise
  r:get("/checkout/{id}", function(req)
    local p = provider.find(require("vbwd.db"), req.params.id)
    if not p or p.kind ~= "checkout" then error({ status = 404, message = "no such checkout" }) end
    if (req.headers["accept"] or ""):find("text/html", 1, true) then
      return 200, page(p), { ["Content-Type"] = "text/html; charset=utf-8" }
    end
    return 200, public(p)
  end)

  -- paying at the checkout: {"outcome": "failed"} (or the page's form) fails it
  -- instead; the page's form is sent on to the checkout's success or cancel URL
  r:post("/checkout/{id}/pay", function(req)
    local outcome, form = outcome_of(req)
    local res = provider.pay(req.params.id, outcome)
    if form and res.return_url then return 303, "", { Location = res.return_url } end
    return 200, res
  end)

  -- {"decline": true}: the customer's next charges are declined (a failed renewal)
  r:put("/customers/{customer}", { permission = MANAGE }, function(req)
    local body = req:json()
    if type(body) ~= "table" or type(body.decline) ~= "boolean" then
      error({ status = 422, message = "decline must be true or false", field = "decline" })
    end
    return 200, provider.set_decline(req.params.customer, body.decline)
  end)
end

return P
