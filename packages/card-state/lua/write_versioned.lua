-- write_versioned.lua: write-through of a versioned JSON document (card state, card controls,
-- cardholder state), only if newer. Like @afc/redis write_if_newer.lua (string storage), except
-- that a tombstone ({"unknown":true}, written by the loader for a token the data of record does
-- not know, with a TTL) is older than any version: a card created after its tombstone must
-- become visible at once. Standalone (lib.lua is not prepended).
--
-- KEYS[1] the document's key
-- ARGV[1] the document's version, a non-negative decimal integer (< 2^53)
-- ARGV[2] the JSON text; its "version" member equals ARGV[1] (checked by the caller)
--
-- Returns { written (1 or 0), version now stored }. An equal version is not newer. No TTL is
-- kept: real-time state must never silently expire.

local version = tonumber(ARGV[1])
if version == nil or version < 0 or version ~= math.floor(version) or version > 9007199254740992 then
  return redis.error_reply('AFC_CARD_STATE_INVALID version must be a non-negative integer')
end

local current = redis.call('GET', KEYS[1])
if current then
  local ok, document = pcall(cjson.decode, current)
  if not ok or type(document) ~= 'table' then
    return redis.error_reply('AFC_CARD_STATE_CORRUPT stored document is not a JSON object')
  end
  if document.unknown ~= true then
    if type(document.version) ~= 'number' then
      return redis.error_reply('AFC_CARD_STATE_CORRUPT stored document has no numeric version')
    end
    if document.version >= version then
      return { 0, document.version }
    end
  end
end

redis.call('SET', KEYS[1], ARGV[2])
return { 1, version }
