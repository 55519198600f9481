"""Fresh random ids in the documented shapes of the backend's providers and common id generators.

Each generator follows its format's public description (named on each) and draws from `secrets`,
so every test run meets ids it has never seen. Used by tests/test_grouping_ids.py and
bench/bench_normalize.py.
"""

from __future__ import annotations

import secrets
import string
import time
import uuid
from collections.abc import Callable

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NANOID = string.ascii_letters + string.digits + "_-"  # nanoid's default alphabet, in another order
HEX = "0123456789abcdef"


def _pick(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _base62(number: int, width: int) -> str:
    out = ""
    while number:
        number, digit = divmod(number, 62)
        out = BASE62[digit] + out
    return out.rjust(width, "0")


def ksuid() -> str:
    """KSUID (github.com/segmentio/ksuid): 4 bytes of seconds since 2014-05-13 16:53:20 UTC, then 16
    random bytes, as 27 base62 characters."""
    stamp = int(time.time()) - 1_400_000_000
    return _base62((stamp << 128) | secrets.randbits(128), 27)


def ulid() -> str:
    """ULID (github.com/ulid/spec): 48 bits of Unix milliseconds, then 80 random bits, as 26 characters of
    Crockford's base32."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def nanoid(size: int = 21) -> str:
    """nanoid (github.com/ai/nanoid): 21 characters of A-Za-z0-9_- by default; `nanoid(size)` and
    `customAlphabet(alphabet, size)` give any other size."""
    return _pick(NANOID, size)


def snowflake() -> str:
    """Snowflake (Twitter's, and Discord's docs): 41 bits of milliseconds since the service's epoch, 10 bits
    of worker, 12 of sequence; written in decimal (18-19 digits today)."""
    millis = int(time.time() * 1000) - 1_288_834_974_657
    return str((millis << 22) | secrets.randbits(22))


def luhn_snowflake() -> str:
    """A Snowflake whose digits pass Luhn, as one in ten do: with its first digit among the card networks'
    (2-6, as today's Twitter-epoch Snowflakes have) the scrubber writes it as [card]."""
    while True:
        value = snowflake()
        digits = [int(d) for d in reversed(value)]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
        if total % 10 == 0 and value[0] in "23456":
            return value
        if value[0] not in "23456":
            raise RuntimeError(f"Snowflakes no longer start with 2-6 ({value[:3]}…): pick another epoch")


def objectid() -> str:
    """MongoDB ObjectId (mongodb.com/docs, ObjectId): 4 bytes of seconds, 5 random bytes, a 3-byte counter,
    as 24 hex characters."""
    return f"{int(time.time()):08x}" + _pick(HEX, 16)


HASHIDS = string.ascii_lowercase + string.ascii_uppercase + "1234567890"  # hashids' default alphabet


def hashid(size: int = 12) -> str:
    """hashids (hashids.org): letters and digits of its default alphabet, salted (shuffled per salt), so
    any character may come anywhere; `min_length` pads a short hash to at least that many characters."""
    return _pick(HASHIDS, size)


def clerk(prefix: str = "") -> str:
    """Clerk object id (clerk.com/docs/reference/backend-api): a type prefix and a KSUID."""
    return f"{prefix or secrets.choice(['user', 'sess', 'org', 'client', 'inv', 'orginv'])}_{ksuid()}"


def stripe(prefix: str = "", size: int = 0) -> str:
    """Stripe object id (docs.stripe.com/api): a type prefix and 14 (older objects) or 24 base62
    characters."""
    prefix = prefix or secrets.choice(["cus", "pi", "sub", "ch", "in", "evt", "pm", "price", "prod", "seti"])
    return f"{prefix}_{_pick(BASE62, size or secrets.choice([14, 24]))}"


def prefixed() -> str:
    """Any `prefix_` + base62 id (the Stripe style many services copy): 16 to 24 base62 characters."""
    return f"{secrets.choice(['book', 'shelf', 'loan', 'acct', 'team', 'job', 'tenant'])}_" + \
        _pick(BASE62, 16 + secrets.randbelow(9))


def prefixed_sized(prefix: str, size: int) -> str:
    """A short `prefix_` + base62 id of a fixed size (`bk_` + 12, `key_` + 16)."""
    return f"{prefix}_{_pick(BASE62, size)}"


def aws_request_id() -> str:
    """x-amzn-RequestId (AWS API reference, common response headers): a UUID."""
    return str(uuid.uuid4())


def s3_request_id() -> str:
    """S3's x-amz-request-id (Amazon S3 API reference, common response headers): 16 upper-case hex."""
    return _pick("0123456789ABCDEF", 16)


def s3_host_id() -> str:
    """S3's x-amz-id-2 (same reference): base64 text of about 76 characters."""
    import base64

    return base64.b64encode(secrets.token_bytes(57)).decode()


def arn() -> str:
    """An ARN (AWS IAM User Guide, ARN format): arn:aws:service:region:account:resource."""
    service, resource = secrets.choice([
        ("sqs", "orders-{}"), ("sns", "alerts-{}"), ("lambda", "function:f{}"),
        ("s3", "bucket-{}/key/{}.json"), ("dynamodb", "table/t{}")])
    region = "" if service == "s3" else secrets.choice(["us-east-1", "eu-west-2", "ap-south-1"])
    account = "" if service == "s3" else str(secrets.randbelow(10**12)).zfill(12)
    return f"arn:aws:{service}:{region}:{account}:" + resource.format(secrets.randbelow(10**6),
                                                                      secrets.randbelow(10**6))


def resend_email_id() -> str:
    """Resend e-mail id (resend.com/docs/api-reference, send e-mail response): a UUID."""
    return str(uuid.uuid4())


def slack() -> str:
    """Slack id (api.slack.com, object ids): a type letter, a digit, then 7-10 upper-case letters and
    digits (U024BE7LH, C012AB3CD)."""
    return secrets.choice("UWCGDT") + secrets.choice("01") + _pick(string.ascii_uppercase + string.digits,
                                                                  7 + secrets.randbelow(4))


SHAPES: dict[str, Callable[[], str]] = {
    "clerk": clerk, "stripe-14": lambda: stripe(size=14), "stripe-24": lambda: stripe(size=24),
    "prefixed-base62": prefixed, "ulid": ulid, "ksuid": ksuid, "nanoid": nanoid, "snowflake": snowflake,
    "luhn-snowflake": luhn_snowflake, "objectid": objectid, "hashid": hashid,
    "nanoid-10": lambda: nanoid(10), "nanoid-12": lambda: nanoid(12), "nanoid-16": lambda: nanoid(16),
    "hashid-6": lambda: hashid(6), "hashid-8": lambda: hashid(8), "hashid-10": lambda: hashid(10),
    "prefixed-bk-12": lambda: prefixed_sized("bk", 12), "prefixed-key-16": lambda: prefixed_sized("key", 16),
    "aws-request-id": aws_request_id,
    "s3-request-id": s3_request_id, "s3-host-id": s3_host_id, "arn": arn, "resend": resend_email_id,
    "slack": slack,
}
