-- GET /v1/models: one list of every model ID the gateway routes, each once, in
-- OpenAI's format. Envoy sends a request to one cluster and cannot merge answers, so
-- this filter answers the request itself: first the names the stack declares (each
-- dedicated server's model and aliases, Ollama's declared models), then what Ollama
-- and llama-swap list right now, asked with httpCall in the order the routes match
-- them. A backend that is down, slow or answers nonsense is left out; the rest is
-- still listed. `owned_by` names the backend a request for that ID goes to.
-- @CONFIG@ is replaced by nix/lib/gateway.nix with a JSON document:
--   {"declared": [{"id", "owned_by"}], "live": [{"cluster", "authority", "owned_by"}], "timeoutMs": N}

local CONFIG = [==[@CONFIG@]==]

-- A small JSON reader: objects, arrays, strings (with \u escapes), numbers, literals.
local decode

local function skip(text, at)
  return text:find("[^ \t\r\n]", at) or #text + 1
end

local function utf8(code)
  if code < 0x80 then
    return string.char(code)
  elseif code < 0x800 then
    return string.char(0xC0 + math.floor(code / 0x40), 0x80 + code % 0x40)
  elseif code < 0x10000 then
    return string.char(0xE0 + math.floor(code / 0x1000), 0x80 + math.floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
  end
  return string.char(
    0xF0 + math.floor(code / 0x40000),
    0x80 + math.floor(code / 0x1000) % 0x40,
    0x80 + math.floor(code / 0x40) % 0x40,
    0x80 + code % 0x40
  )
end

local ESCAPES = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }

local function decode_string(text, at)
  local parts, i = {}, at + 1
  while true do
    local stop = text:find('["\\]', i)
    if not stop then
      error("unterminated string")
    end
    parts[#parts + 1] = text:sub(i, stop - 1)
    if text:sub(stop, stop) == '"' then
      return table.concat(parts), stop + 1
    end
    local kind = text:sub(stop + 1, stop + 1)
    if kind == "u" then
      local code = tonumber(text:sub(stop + 2, stop + 5), 16) or error("bad \\u escape")
      i = stop + 6
      if code >= 0xD800 and code < 0xDC00 and text:sub(i, i + 1) == "\\u" then
        local low = tonumber(text:sub(i + 2, i + 5), 16) or error("bad \\u escape")
        code = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00)
        i = i + 6
      end
      parts[#parts + 1] = utf8(code)
    else
      parts[#parts + 1] = ESCAPES[kind] or error("bad escape")
      i = stop + 2
    end
  end
end

local function decode_list(text, at, close, item)
  local i = skip(text, at + 1)
  if text:sub(i, i) == close then
    return i + 1
  end
  while true do
    i = item(i)
    i = skip(text, i)
    local c = text:sub(i, i)
    if c == close then
      return i + 1
    elseif c ~= "," then
      error("expected ',' or '" .. close .. "'")
    end
    i = skip(text, i + 1)
  end
end

decode = function(text, at)
  at = skip(text, at or 1)
  local c = text:sub(at, at)
  if c == "{" then
    local object = {}
    local stop = decode_list(text, at, "}", function(i)
      if text:sub(i, i) ~= '"' then
        error("expected a key")
      end
      local key, after = decode_string(text, i)
      after = skip(text, after)
      if text:sub(after, after) ~= ":" then
        error("expected ':'")
      end
      local value
      value, after = decode(text, after + 1)
      object[key] = value
      return after
    end)
    return object, stop
  elseif c == "[" then
    local array = {}
    local stop = decode_list(text, at, "]", function(i)
      local value, after = decode(text, i)
      array[#array + 1] = value
      return after
    end)
    return array, stop
  elseif c == '"' then
    return decode_string(text, at)
  end
  local number = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", at)
  if number and number ~= "" then
    return tonumber(number), at + #number
  end
  for word, value in pairs({ ["true"] = true, ["false"] = false, ["null"] = false }) do
    if text:sub(at, at + #word - 1) == word then
      return value, at + #word
    end
  end
  error("unexpected character at " .. at)
end

local function encode_string(value)
  return '"'
    .. value:gsub('[%c"\\]', function(ch)
      return string.format("\\u%04x", ch:byte())
    end)
    .. '"'
end

local config = decode(CONFIG)

-- The IDs a backend lists now, or nil when it is down or its answer is not a list.
local function live_ids(handle, source)
  local ok, headers, body = pcall(function()
    return handle:httpCall(
      source.cluster,
      { [":method"] = "GET", [":path"] = "/v1/models", [":authority"] = source.authority },
      nil,
      config.timeoutMs
    )
  end)
  if not ok or headers == nil or headers[":status"] ~= "200" or body == nil then
    return nil
  end
  local parsed, document = pcall(decode, body)
  if not parsed or type(document) ~= "table" or type(document.data) ~= "table" then
    return nil
  end
  local ids = {}
  for _, entry in ipairs(document.data) do
    if type(entry) == "table" and type(entry.id) == "string" and entry.id ~= "" then
      ids[#ids + 1] = entry.id
    end
  end
  return ids
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local path = (headers:get(":path") or ""):match("^[^?]*")
  if path ~= "/v1/models" or headers:get(":method") ~= "GET" then
    return
  end
  local seen, entries, created = {}, {}, os.time()
  local function add(id, owner)
    if not seen[id] then
      seen[id] = true
      entries[#entries + 1] = string.format(
        '{"id":%s,"object":"model","created":%d,"owned_by":%s}',
        encode_string(id),
        created,
        encode_string(owner)
      )
    end
  end
  for _, model in ipairs(config.declared) do
    add(model.id, model.owned_by)
  end
  for _, source in ipairs(config.live) do
    for _, id in ipairs(live_ids(handle, source) or {}) do
      add(id, source.owned_by)
    end
  end
  handle:respond(
    { [":status"] = "200", ["content-type"] = "application/json" },
    '{"object":"list","data":[' .. table.concat(entries, ",") .. "]}"
  )
end
