-- API keys for the gateway, read once when Envoy loads this filter. The bootstrap
-- holds only the key file's path (substituted for @KEY_FILE@), never a key.
-- One key per line; blank lines and lines starting with # are ignored. A missing or
-- empty file lets no request through (fail closed); /health stays open.
local keys = {}
local file = io.open([==[@KEY_FILE@]==], "r")
if file then
  for line in file:lines() do
    local key = line:match("^%s*(.-)%s*$")
    if key ~= "" and key:sub(1, 1) ~= "#" then
      keys[key] = true
    end
  end
  file:close()
end

local DENIED = '{"error":{"message":"missing or invalid API key","type":"invalid_request_error","code":"invalid_api_key"}}'

function envoy_on_request(handle)
  local headers = handle:headers()
  local path = (headers:get(":path") or ""):match("^[^?]*")
  if path == "/health" then
    return
  end
  local key = (headers:get("authorization") or ""):match("^[Bb]earer%s+(%S+)%s*$")
  if key == nil or not keys[key] then
    handle:respond(
      { [":status"] = "401", ["content-type"] = "application/json", ["www-authenticate"] = "Bearer" },
      DENIED
    )
    return
  end
  -- The backends have no keys of their own: do not pass the client's on.
  headers:remove("authorization")
end
