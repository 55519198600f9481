"""The Redis counter store: each question is one Lua script, so one round trip and atomic.

A script runs alone on the Redis server, so when four worker processes count the same issue
the threshold is crossed, and the cooldown taken, by exactly one of them. `<prefix>` is
Settings.redis_prefix, `<APP_NAME>:alerts:<SENTRY_ENVIRONMENT>:` (its one source; build_store
passes it). Keys per alert key:
`<prefix>w:<key>` a hash of slot counts plus `first` and `sup` (first seen and occurrences
held back since the last alert), `<prefix>cd:<key>` the cooldown, and for the rate rule
`<prefix>on:<key>`, present while the rate alert is firing.

The cooldown key holds the time it ends, by the callers' clock, and expires (EX) at that time:
the script's check-and-set is already atomic, so no SET NX is needed, and comparing the stored
time keeps cooldowns on the same injected clock as the windows (tests never sleep).
"""

from __future__ import annotations

from typing import Any

from errorwarden.alerting.counters import SLOTS, CountCheck, CounterStore, Hit, RateCheck, RateResult

# Shared by both scripts: add ARGV-given amounts to slot fields, prune slots older than the
# window and return the sliding sums. Slot fields are '<letter><index>'.
_SLIDING = """
local function sliding(h, now, window, adds)
  local width = window / %(slots)d
  local pos = now / width
  local cur = math.floor(pos)
  for letter, amount in pairs(adds) do
    if amount > 0 then redis.call('HINCRBY', h, letter .. cur, amount) end
  end
  local sums = {}
  local flat = redis.call('HGETALL', h)
  for i = 1, #flat, 2 do
    local f = flat[i]
    local letter = string.sub(f, 1, 1)
    local idx = tonumber(string.sub(f, 2))
    if adds[letter] ~= nil and idx ~= nil then
      if idx < cur - %(slots)d then
        redis.call('HDEL', h, f)
      else
        local n = tonumber(flat[i + 1])
        if idx == cur - %(slots)d then n = n * (1 - (pos - cur)) end
        sums[letter] = (sums[letter] or 0) + n
      end
    end
  end
  return sums
end
""".replace("%(slots)d", str(SLOTS))

_HIT = _SLIDING + """
local h, cd = KEYS[1], KEYS[2]
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local threshold, cooldown, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local count = sliding(h, now, window, {c = 1})['c'] or 0
redis.call('HSETNX', h, 'first', ARGV[1])
redis.call('EXPIRE', h, ttl)
local ends = redis.call('GET', cd)
if ends and now < tonumber(ends) then
  redis.call('HINCRBY', h, 'sup', 1)
  return {0, tostring(count), 0, false, ends}
end
if ARGV[6] == '0' or count < threshold - 1e-9 then return {0, tostring(count), 0, false, false} end
redis.call('SET', cd, tostring(now + cooldown), 'EX', cooldown)
local sup = redis.call('HGET', h, 'sup') or '0'
local first = redis.call('HGET', h, 'first')
redis.call('HDEL', h, 'sup', 'first')
return {1, tostring(count), sup, first, tostring(now + cooldown)}
"""

_RATE = _SLIDING + """
local h, cd, on = KEYS[1], KEYS[2], KEYS[3]
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local threshold, min_requests = tonumber(ARGV[5]), tonumber(ARGV[6])
local cooldown, ttl = tonumber(ARGV[7]), tonumber(ARGV[8])
local sums = sliding(h, now, window, {t = tonumber(ARGV[3]), f = tonumber(ARGV[4])})
local total, failed = sums['t'] or 0, sums['f'] or 0
redis.call('EXPIRE', h, ttl)
if ARGV[9] == '0' then return {'', tostring(total), tostring(failed), false} end
local since = redis.call('GET', on)
if not since then
  local breach = total >= min_requests - 1e-9 and failed > threshold * total + 1e-9
  if breach and now >= tonumber(redis.call('GET', cd) or '0') then
    redis.call('SET', cd, tostring(now + cooldown), 'EX', cooldown)
    redis.call('SET', on, ARGV[1], 'EX', ttl)
    return {'fire', tostring(total), tostring(failed), ARGV[1]}
  end
elseif total <= 1e-9 or failed <= threshold * total + 1e-9 then
  redis.call('DEL', on)
  return {'recover', tostring(total), tostring(failed), since}
end
return {'', tostring(total), tostring(failed), false}
"""


class RedisStore(CounterStore):
    """Counters shared by every process on one Redis; keys expire on their own."""

    def __init__(self, client: Any, prefix: str, state_ttl: int = 86_400):
        self._client, self._prefix = client, prefix
        # The "N more since the last alert" tally must outlive the cooldown; a day covers any
        # sensible cooldown while letting quiet issues' keys expire.
        self._ttl = state_ttl
        self._hit = client.register_script(_HIT)
        self._rate = client.register_script(_RATE)

    def ping(self) -> object:
        """Raise unless Redis answers."""
        return self._client.ping()

    def hit(self, check: CountCheck, now: float, *, claim: bool = True) -> Hit:
        """Count one occurrence and say whether it fires an alert (one round trip; never fires
        with claim=False)."""
        ttl = self._expiry(check.window, check.cooldown)
        keys = [f"{self._prefix}w:{check.key}", f"{self._prefix}cd:{check.key}"]
        args = [repr(now), check.window, check.threshold, max(1, round(check.cooldown)), ttl, int(claim)]
        fired, count, suppressed, first, until = self._hit(keys=keys, args=args)
        first_seen = float(first) if first else None
        return Hit(bool(fired), float(count), int(float(suppressed)), first_seen,
                   float(until) if until else None)

    def rate(self, check: RateCheck, total: int, failed: int, now: float, *,
             claim: bool = True) -> RateResult:
        """Add a batch of request outcomes and say whether the rate alert starts or clears
        (with claim=False: only add them)."""
        ttl = self._expiry(check.window, check.cooldown)
        keys = [f"{self._prefix}{p}:{check.key}" for p in ("w", "cd", "on")]
        args = [repr(now), check.window, total, failed, repr(check.threshold), check.min_requests,
                max(1, round(check.cooldown)), ttl, int(claim)]
        transition, sum_total, sum_failed, since = self._rate(keys=keys, args=args)
        transition = transition.decode() if isinstance(transition, bytes) else transition
        return RateResult(transition, float(sum_total), float(sum_failed),
                          float(since) if since else None)

    def release(self, key: str) -> None:
        """End `key`'s cooldown now."""
        self._client.delete(f"{self._prefix}cd:{key}")

    def restore(self, cooldowns: dict[str, float], now: float) -> None:
        """Write back cooldowns a restarted Redis lost; a cooldown it still holds is kept (NX)."""
        pipe = self._client.pipeline(transaction=False)
        for key, until in cooldowns.items():
            if until > now:
                pipe.set(f"{self._prefix}cd:{key}", repr(until), ex=max(1, round(until - now)), nx=True)
        pipe.execute()

    def _expiry(self, window: float, cooldown: float) -> int:
        return max(self._ttl, int(2 * (window + cooldown)))


def redis_client(url: str, timeout: float = 0.2) -> Any:
    """A redis-py client with small socket timeouts and no built-in retries (we fail over instead)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                retry=Retry(NoBackoff(), 0), health_check_interval=30)
