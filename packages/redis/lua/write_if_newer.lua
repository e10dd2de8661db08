-- write_if_newer: write-through of a versioned JSON document, only if it is newer.
--
-- The control plane writes card state, card controls and cardholder state through to Redis
-- after its database commit. Two writers (or a retry and a newer write) may arrive out of
-- order: comparing versions inside one script means an older document can never overwrite a
-- newer one, with no read-then-write race between round trips.
--
-- KEYS[1]   the document's key
-- ARGV[1]   'string': the key holds the JSON text; 'hash': the key holds one field per
--           top-level member (flattened by the caller), 'version' among them
-- ARGV[2]   the document's version, a non-negative decimal integer (< 2^53)
-- ARGV[3]   string: the JSON text (its "version" member equals ARGV[2])
-- ARGV[3..] hash: field, value, field, value, ...
--
-- Returns { written (1 or 0), version now stored }. An equal version is not newer: a replayed
-- write answers 0 and changes nothing. No TTL is set, and an existing one is removed: this is
-- real-time state the authorizer decides on and must never silently expire.

local key = KEYS[1]
local storage = ARGV[1]
local version = tonumber(ARGV[2])
if version == nil or version < 0 or version ~= math.floor(version) then
  return redis.error_reply('AFC_BAD_VERSION version must be a non-negative integer')
end

local stored = nil
if storage == 'string' then
  -- GET on a key of another type raises WRONGTYPE: the schema was broken, fail loudly.
  local current = redis.call('GET', key)
  if current then
    local ok, document = pcall(cjson.decode, current)
    if not ok or type(document) ~= 'table' or type(document.version) ~= 'number' then
      return redis.error_reply('AFC_STORED_VERSION stored document has no numeric version')
    end
    stored = document.version
  end
elseif storage == 'hash' then
  local current = redis.call('HGET', key, 'version')
  if current then
    stored = tonumber(current)
    if stored == nil then
      return redis.error_reply('AFC_STORED_VERSION stored version is not a number')
    end
  elseif redis.call('EXISTS', key) == 1 then
    return redis.error_reply('AFC_STORED_VERSION stored hash has no version field')
  end
  if #ARGV < 4 or #ARGV % 2 ~= 0 then
    return redis.error_reply('AFC_BAD_FIELDS hash fields must come in field, value pairs')
  end
else
  return redis.error_reply('AFC_BAD_STORAGE storage must be string or hash')
end

if stored ~= nil and stored >= version then
  return { 0, stored }
end

if storage == 'string' then
  redis.call('SET', key, ARGV[3])
else
  -- Replace, not merge: a member removed from the document must not linger in the hash.
  redis.call('DEL', key)
  redis.call('HSET', key, unpack(ARGV, 3))
end
return { 1, version }
