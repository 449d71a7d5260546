"""The Lua scripts replicas run in Redis: each is one atomic step on the shared rate limit, the concurrency leases
or a preview, timed by Redis (`TIME`), so that replicas on different machines agree on when a window ends."""

from ..quota import MAX_STATED_WAIT

#: Every script's time, in milliseconds, from Redis (one clock for all replicas). The governor's scenario tests
#: replace this line to play the scripts on virtual time.
NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)"""


# Nothing in the shared state may hold requests back longer than a BigCommerce window can (a stated reset or a pause
# past it is clamped on read), and every key expires by itself once nobody uses it.
STATE_MAX_MS = round(MAX_STATED_WAIT * 1000) + 1_000  # a window, its margin, and a little more
KEY_TTL_MS = 3_600_000
# While the first request to a store is on its way, the others look again this often (ms), for this long at most (a
# slow first answer then no longer holds them).
FIRST_ANSWER_POLL_MS = 20
FIRST_ANSWER_WAIT_MS = 1_000


def _timed(script: str) -> str:
    """A script that starts by reading `now` (ms) from NOW, with the state's bounds as constants."""
    bounds = (
        f"\nlocal STATE_MAX, KEY_TTL = {STATE_MAX_MS}, {KEY_TTL_MS}"
        f"\nlocal FIRST_ANSWER_POLL, FIRST_ANSWER_WAIT = {FIRST_ANSWER_POLL_MS}, {FIRST_ANSWER_WAIT_MS}"
    )
    return NOW + bounds + script


# KEYS[1]: the store's rate hash; KEYS[2]: its requests in flight (a sorted set scored by when each entry expires,
# so that one a dead replica or a lost reply leaves behind stops counting). ARGV: request id, entry ms, reserve (the
# fraction of the quota that must still be left after this request, or '').
# Returns {1, now_ms} when the request may go, or {0, wait_ms}. Until the store has answered once (`answered`), one
# request goes alone: the first answer then states the quota with nothing else in flight, where 10 requests per
# replica in flight would each be subtracted from it (the store may or may not have counted them: see RELEASE).
ACQUIRE = _timed("""
local s = redis.call('HMGET', KEYS[1], 'left', 'reset', 'quota', 'window', 'answered')
local left, reset, quota, window = tonumber(s[1]), tonumber(s[2]) or 0, tonumber(s[3]), tonumber(s[4]) or 0
if reset > now + STATE_MAX then reset = now + STATE_MAX; redis.call('HSET', KEYS[1], 'reset', reset) end
redis.call('PEXPIRE', KEYS[1], KEY_TTL)
if not s[5] then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if first[2] and now - (tonumber(first[2]) - tonumber(ARGV[2])) < FIRST_ANSWER_WAIT then
    return {0, FIRST_ANSWER_POLL}
  end
end
local kept = 0
if quota ~= nil then kept = math.floor((tonumber(ARGV[3]) or 0) * quota) end
if left ~= nil and left < 1 + kept then
  if now < reset then return {0, reset - now} end
  left = quota
  redis.call('HSET', KEYS[1], 'reset', now + window, 'epoch', now)
  if left == nil then redis.call('HDEL', KEYS[1], 'left') end
end
if left ~= nil then redis.call('HSET', KEYS[1], 'left', left - 1) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '(' .. (now + tonumber(ARGV[2])), '+inf')
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], KEY_TTL)
return {1, now}
""")

# KEYS[1]: the rate hash; KEYS[2]: the requests in flight. ARGV: left, reset_ms, quota, window_ms (each '' when
# absent), sent_at_ms, margin_ms, request id.
RELEASE = _timed("""
redis.call('ZREM', KEYS[2], ARGV[7])
redis.call('HSET', KEYS[1], 'answered', 1)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local inflight = redis.call('ZCARD', KEYS[2])
local epoch = tonumber(redis.call('HGET', KEYS[1], 'epoch')) or 0
if tonumber(ARGV[5]) < epoch then return 0 end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'quota', ARGV[3]) end
if ARGV[4] ~= '' and tonumber(ARGV[4]) > 0 then redis.call('HSET', KEYS[1], 'window', ARGV[4]) end
if ARGV[1] == '' or ARGV[2] == '' then return 0 end
local s = redis.call('HMGET', KEYS[1], 'left', 'reset', 'window')
local cur_left, cur_reset, window = tonumber(s[1]), tonumber(s[2]) or 0, tonumber(s[3])
local left, reset = tonumber(ARGV[1]), now + tonumber(ARGV[2]) + tonumber(ARGV[6])
local half = 1000
if window ~= nil and window > 0 then half = window / 2 end
if cur_left == nil or reset > cur_reset + half then
  left = left - inflight
elseif cur_left < left then
  left = cur_left
end
redis.call('HSET', KEYS[1], 'left', left, 'reset', reset)
redis.call('PEXPIRE', KEYS[1], KEY_TTL)
return 1
""")

# KEYS[1]: the rate hash. ARGV[1]: pause in ms.
PAUSE = _timed("""
redis.call('HSET', KEYS[1], 'left', 0, 'reset', now + math.min(tonumber(ARGV[1]), STATE_MAX))
redis.call('PEXPIRE', KEYS[1], KEY_TTL)
return 1
""")

# KEYS[1]: the leases' sorted set. ARGV: limit, lease id, lease ms. Returns 1 when the lease was taken.
LEASE = _timed("""
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '(' .. (now + tonumber(ARGV[3])), '+inf')
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], KEY_TTL)
return 1
""")

# KEYS[1]: the preview; KEYS[2]: its used marker. ARGV[1]: marker ms. Returns the preview, taken, or nil.
TAKE = """
local value = redis.call('GET', KEYS[1])
if not value then return false end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
return value
"""
