# ruff: noqa: E501  (a data table: one value per entry reads better than wrapped lines)
"""Regenerate the synthesized part of the secret catalogue: ``python tests/data/secrets/generate.py``.

Every synthesized value follows the shape its provider documents (the source of each shape
is named in positives.txt beside its section and in errorwarden/scrubbing/vendors.py);
the random bodies are drawn from a fixed seed, so a rerun writes the same files. Documented
public test values (AWS's AKIAIOSFODNN7EXAMPLE, card networks' test numbers, the IBAN
registry's examples) are listed by hand in ``documented.txt`` and copied in first.
"""

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path

HERE = Path(__file__).resolve().parent
RNG = random.Random(9)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64URL = ALNUM + "_-"


def pick(alphabet: str, n: int) -> str:
    """``n`` random characters of ``alphabet``."""
    return "".join(RNG.choice(alphabet) for _ in range(n))


def b64url(data: bytes) -> str:
    """Unpadded base64url, as in JWTs."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def luhn_complete(prefix: str, length: int) -> str:
    """A Luhn-valid number of ``length`` digits starting with ``prefix``."""
    body = prefix + "".join(RNG.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for last in string.digits:
        digits = body + last
        total = sum(int(d) if i % 2 == 0 else (2 * int(d) - 9 if int(d) > 4 else 2 * int(d))
                    for i, d in enumerate(reversed(digits)))
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def iban(country: str, length: int, bban_alphabet: str = string.digits) -> str:
    """An IBAN of the registry's length for ``country`` with valid mod-97 check digits."""
    bban = pick(bban_alphabet, length - 4)
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def jwt(signed: bool = True) -> str:
    """A JWT (RFC 7519): base64url header, payload and signature; unsigned ends in '.'."""
    header = {"alg": "HS256" if signed else "none", "typ": "JWT"}
    payload = {"sub": pick(string.digits, 6), "name": pick(string.ascii_lowercase, 6),
               "iat": 1700000000 + RNG.randint(0, 10**7)}
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    return f"{head}.{body}." + (b64url(RNG.randbytes(32)) if signed else "")


def grouped(value: str, sizes: tuple[int, ...] = (4,), sep: str = " ") -> str:
    """``value`` split into groups of ``sizes`` (the last size repeats), joined by ``sep``."""
    out, i, k = [], 0, 0
    while i < len(value):
        size = sizes[min(k, len(sizes) - 1)]
        out.append(value[i:i + size])
        i, k = i + size, k + 1
    return sep.join(out)


def ssn(sep: str) -> str:
    """A US SSN with a valid area (not 000, 666, 9xx), group and serial."""
    area = RNG.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}{sep}{RNG.randint(1, 99):02d}{sep}{RNG.randint(1, 9999):04d}"


SYNTH = {  # format -> list of values (a «…» marks the secret inside its context)
    "aws_key": [p + pick(string.ascii_uppercase + "234567", 16)
                for p in ("AKIA", "ASIA", "ABIA", "ACCA", "A3TX", "AKIA")],
    "github_token": [f"gh{c}_" + pick(ALNUM, 36) for c in "pousr"]
                    + ["github_pat_11A" + pick(ALNUM, 19) + "_" + pick(ALNUM, 59)],
    "gitlab_token": [p + pick(B64URL, 20) for p in
                     ("glpat-", "gldt-", "glft-", "glrt-", "glsoat-", "glffct-")]
                    + ["glcbt-64_" + pick(B64URL, 20), "glptt-" + pick(HEX, 40),
                       "GR1348941" + pick(B64URL, 20)],
    "anthropic_key": [f"sk-ant-{k}-" + pick(B64URL, 93) + "AA"
                      for k in ("api03", "api03", "api03", "admin01", "admin01", "api03")],
    "openai_key": ["sk-" + pick(ALNUM, 20) + "T3BlbkFJ" + pick(ALNUM, 20) for _ in range(3)]
                  + [f"sk-{k}-" + pick(B64URL, 74) + "T3BlbkFJ" + pick(B64URL, 74)
                     for k in ("proj", "svcacct", "admin")],
    "sendgrid_key": ["SG." + pick(B64URL, 22) + "." + pick(B64URL, 43) for _ in range(6)],
    "twilio_key": ["SK" + pick(HEX, 32) for _ in range(3)] + ["AC" + pick(HEX, 32) for _ in range(3)],
    "discord_token": [RNG.choice("MNO") + pick(ALNUM, 23) + "." + pick(B64URL, 6) + "."
                      + pick(B64URL, 27) for _ in range(6)],
    "discord_webhook": [f"https://discord.com/api/webhooks/{pick(string.digits, 18)}/"
                        + pick(B64URL, 68) for _ in range(4)],
    "pypi_token": ["pypi-AgEIcHlwaS5vcmc" + pick(B64URL, 120) for _ in range(5)],
    "npm_token": ["npm_" + pick(ALNUM, 36) for _ in range(6)],
    "telegram_token": [f"{RNG.randint(10**8, 10**10 - 1)}:AA" + pick(B64URL, 33) for _ in range(6)],
    "huggingface_token": ["hf_" + pick(string.ascii_letters, 34) for _ in range(4)]
                         + ["api_org_" + pick(string.ascii_letters, 34) for _ in range(2)],
    "mailchimp_key": [pick(HEX, 32) + f"-us{RNG.randint(1, 21)}" for _ in range(6)],
    "slack_token": ["xoxb-" + pick(string.digits, 12) + "-" + pick(string.digits, 13) + "-" + pick(ALNUM, 24),
                    "xoxp-" + pick(string.digits, 12) + "-" + pick(string.digits, 12) + "-"
                    + pick(string.digits, 13) + "-" + pick(HEX, 32),
                    "xapp-1-A" + pick(string.ascii_uppercase + string.digits, 10) + "-"
                    + pick(string.digits, 13) + "-" + pick(HEX, 64),
                    "xoxe.xoxp-1-" + pick(ALNUM, 160), "xoxe-1-" + pick(ALNUM, 146),
                    "xoxa-2-" + pick(ALNUM, 30)],
    "stripe_key": ["sk_live_" + pick(ALNUM, 24), "sk_test_" + pick(ALNUM, 99),
                   "rk_live_" + pick(ALNUM, 24), "rk_test_" + pick(ALNUM, 24),
                   "sk_prod_" + pick(ALNUM, 32), "whsec_" + pick(ALNUM, 32)],
    "resend_key": ["re_" + pick(ALNUM, 8) + "_" + pick(ALNUM, 24) for _ in range(6)],
    "sentry_token": ["sntryu_" + pick(HEX, 64) for _ in range(3)]
                    + ["sntrys_" + b64url(json.dumps({"iat": 1700000000 + i, "url": "https://sentry.io",
                                                       "region_url": "https://us.sentry.io",
                                                       "org": "muejam"}).encode()) + "_" + pick(ALNUM, 43)
                       for i in range(3)],
    "google_api_key": ["AIza" + pick(B64URL, 35) for _ in range(6)],
    "google_oauth": ["GOCSPX-" + pick(B64URL, 28) for _ in range(3)]
                    + ["ya29.a0" + pick(B64URL, 120) for _ in range(3)],
    "digitalocean_token": [f"do{k}_v1_" + pick(HEX, 64) for k in "oprppo"],
    "heroku_key": ["HRKU-AA" + pick(B64URL, 58) for _ in range(6)],
    "shopify_token": [f"shp{k}_" + pick(HEX, 32) for k in ("at", "ca", "pa", "ss", "at", "ss")],
    "square_token": ["EAAA" + pick(B64URL, 60) for _ in range(3)]
                    + ["sq0atp-" + pick(B64URL, 22), "sq0csp-" + pick(B64URL, 43), "sq0atp-" + pick(B64URL, 22)],
    "mailgun_key": ["key-" + pick(HEX, 32) for _ in range(6)],
    "postman_key": ["PMAK-" + pick(HEX, 24) + "-" + pick(HEX, 34) for _ in range(6)],
    "databricks_token": ["dapi" + pick(HEX, 32) for _ in range(5)] + ["dapi" + pick(HEX, 32) + "-2"],
    "atlassian_token": ["ATATT3xFfGF0" + pick(B64URL, 180) + "=" + pick(HEX, 8).upper() for _ in range(6)],
    "linear_key": ["lin_api_" + pick(ALNUM, 40) for _ in range(6)],
    "doppler_token": [f"dp.{k}." + pick(ALNUM, 43) for k in ("pt", "st", "sa", "ct", "pt", "st")],
    "grafana_token": ["glsa_" + pick(ALNUM, 32) + "_" + pick(HEX, 8) for _ in range(3)]
                     + ["glc_" + pick(ALNUM + "+/", 80) + "==" for _ in range(3)],
    "newrelic_key": ["NRAK-" + pick(string.ascii_uppercase + string.digits, 27) for _ in range(3)]
                    + ["NRII-" + pick(ALNUM + "-", 32), "NRJS-" + pick(HEX, 19), "NRII-" + pick(ALNUM, 32)],
    "notion_token": ["ntn_" + pick(string.digits, 11) + pick(ALNUM, 35) for _ in range(3)]
                    + ["secret_" + pick(ALNUM, 43) for _ in range(3)],
    "vault_token": ["hvs." + pick(B64URL, 95) for _ in range(3)] + ["hvb." + pick(B64URL, 140) for _ in range(3)],
    "age_key": ["AGE-SECRET-KEY-1" + pick("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58) for _ in range(5)],
    "supabase_token": ["sbp_" + pick(HEX, 40) for _ in range(6)],
    "planetscale_token": [f"pscale_{k}_" + pick(ALNUM + "_", 43) for k in ("tkn", "oauth", "pw", "tkn", "pw", "oauth")],
    "pulumi_token": ["pul-" + pick(HEX, 40) for _ in range(6)],
    "dynatrace_token": ["dt0c01." + pick(string.ascii_uppercase + string.digits, 24) + "."
                        + pick(string.ascii_uppercase + string.digits, 64) for _ in range(5)],
    "brevo_key": ["xkeysib-" + pick(HEX, 64) + "-" + pick(ALNUM, 16) for _ in range(5)],
    "rubygems_key": ["rubygems_" + pick(HEX, 48) for _ in range(5)],
    "ai_provider_key": ["pplx-" + pick(ALNUM, 48) for _ in range(3)] + ["gsk_" + pick(ALNUM, 52) for _ in range(3)],
    "onepassword_token": ["ops_eyJ" + pick(ALNUM + "+/", 300) + "=" for _ in range(4)],
    "flyio_token": ["fo1_" + pick(B64URL, 43) for _ in range(3)] + ["fm2_" + pick(ALNUM + "+/", 160) + "=="
                                                                      for _ in range(3)],
    "teams_webhook": [f"https://contoso{i}.webhook.office.com/webhookb2/{pick(HEX, 8)}-{pick(HEX, 4)}-{pick(HEX, 4)}-"
                      f"{pick(HEX, 4)}-{pick(HEX, 12)}@{pick(HEX, 8)}-{pick(HEX, 4)}-{pick(HEX, 4)}-{pick(HEX, 4)}-"
                      f"{pick(HEX, 12)}/IncomingWebhook/{pick(HEX, 32)}/{pick(HEX, 8)}-{pick(HEX, 4)}-"
                      f"{pick(HEX, 4)}-{pick(HEX, 4)}-{pick(HEX, 12)}" for i in range(4)],
    "azure_ad_secret": [pick(ALNUM, 3) + str(RNG.randint(0, 9)) + "Q~" + pick(ALNUM + "_~.-", 34) for _ in range(6)],
    "terraform_token": [pick(ALNUM, 14) + ".atlasv1." + pick(ALNUM + "_-", 67) for _ in range(5)],
    "azure_storage_key": [f"DefaultEndpointsProtocol=https;AccountName=acct{i};AccountKey=«"
                          + base64.b64encode(RNG.randbytes(64)).decode() + "»;EndpointSuffix=core.windows.net"
                          for i in range(5)],
    "aws_secret_key": [f"{'AKIA' + pick(string.ascii_uppercase + '234567', 16)}{sep}«"
                       + pick(ALNUM + "/+", 40) + "»" for sep in (" ", ",", "\t", ": ", " / ")],
    "jwt": [jwt() for _ in range(6)] + [jwt(signed=False) for _ in range(3)],
    "private_key": [f"-----BEGIN {k}PRIVATE KEY-----\n" + "\n".join(
        base64.b64encode(RNG.randbytes(48)).decode() for _ in range(4)) + f"\n-----END {k}PRIVATE KEY-----"
        for k in ("", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED ")],
    "bearer_token": ["Authorization: Bearer «" + pick(B64URL + ".~", 40) + "»" for _ in range(3)]
                    + ["Bearer «" + pick(ALNUM, 32) + "»", "bearer «" + pick(HEX, 40) + "»",
                       "BEARER «" + pick(ALNUM, 24) + "»"],
    "basic_auth": ["Authorization: Basic «" + base64.b64encode(f"{pick(string.ascii_lowercase, 6)}:{pick(ALNUM, 12)}"
                                                               .encode()).decode() + "»" for _ in range(5)],
    "url_password": [f"postgres://app:«{pick(ALNUM, 14)}»@db.internal:5432/app",
                     f"redis://:«{pick(ALNUM, 18)}»@cache.internal:6379/0",
                     f"amqp://worker:«{pick(ALNUM, 12)}»@rabbit.internal:5672//",
                     f"mysql://root:«{pick(ALNUM, 10)}»@127.0.0.1:3306/shop",
                     f"https://deploy:«{pick(ALNUM, 16)}»@git.example.com/repo.git",
                     f"mongodb+srv://admin:«{pick(ALNUM, 20)}»@cluster0.example.net/db"],
    "sentry_dsn": [f"https://«{pick(HEX, 32)}»@o{RNG.randint(10**5, 10**6)}.ingest.sentry.io/{RNG.randint(10**3, 10**7)}"
                   for _ in range(5)],
    "slack_webhook": ["https://hooks.slack.com/services/T" + pick(string.ascii_uppercase + string.digits, 8)
                      + "/B" + pick(string.ascii_uppercase + string.digits, 8) + "/" + pick(ALNUM, 24)
                      for _ in range(4)],
    "card": [luhn_complete(p, n) for p, n in (("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16),
                                              ("2720", 16), ("34", 15), ("37", 15), ("6011", 16), ("65", 16),
                                              ("3528", 16), ("36", 14), ("1", 15), ("1", 15), ("62", 19))],
    "card_grouped": [grouped(luhn_complete("4", 16)), grouped(luhn_complete("5", 16), sep="-"),
                     grouped(luhn_complete("37", 15), (4, 6, 5)), grouped(luhn_complete("2", 16)),
                     grouped(luhn_complete("1", 15), (4, 5, 6))],
    "iban": [iban(c, n) for c, n in (("DE", 22), ("FR", 27), ("ES", 24), ("IT", 27), ("LY", 25), ("RU", 33),
                                     ("SD", 18), ("BI", 27), ("DJ", 27), ("SO", 23), ("NI", 28), ("MN", 20),
                                     ("FK", 18), ("OM", 23), ("YE", 30), ("EG", 29), ("SA", 24), ("UA", 29),
                                     ("SE", 24), ("CH", 21), ("PL", 28), ("IQ", 23), ("SV", 28), ("VA", 22))],
    "iban_grouped": [grouped(iban(c, n)) for c, n in (("DE", 22), ("LY", 25), ("RU", 33), ("NL", 18),
                                                          ("BE", 16))],
    "ssn": [ssn("-") for _ in range(4)] + [ssn(".") for _ in range(3)] + [ssn(" ") for _ in range(3)],
    "email": [f"{pick(string.ascii_lowercase, 6)}.{pick(string.ascii_lowercase, 5)}@example.com",
              f"{pick(string.ascii_lowercase, 5)}+tag@sub.example.co.uk",
              f"{pick(string.ascii_lowercase, 4)}@xn--bcher-kva.example",
              f"{pick(string.ascii_lowercase, 4)}@xn--80ak6aa92e.xn--p1ai",
              f"{pick(string.ascii_lowercase, 3)}_{pick(string.digits, 3)}@mail.example.org",
              f"{pick(string.ascii_uppercase, 5)}@EXAMPLE.COM", "first.last-x@example.museum",
              f"{pick(string.ascii_lowercase, 8)}%{pick(string.ascii_lowercase, 3)}@example.net"],
    "ipv4": ["203.0.113.77", "198.51.100.7", "192.0.2.254", "10.12.0.5", "172.20.3.4", "192.168.1.20",
             "8.8.4.4", "100.64.12.1"],
    "ipv6": ["2001:db8:85a3::8a2e:370:7334", "2001:0db8:0000:0000:0000:ff00:0042:8329",
             "fe80::1ff:fe23:4567:890a", "::ffff:192.168.1.1", "2001:db8::0:0:192.168.1.1",
             "fd12:3456:789a::1", "2001:db8:0:0:0:0:203.0.113.9", "2a00:1450:4001:82a::200e"],
    "generic_secret": [f'client_secret = "«{pick(ALNUM, 32)}»"', f"DB_PASSWORD=«{pick(ALNUM + '!#%', 16)}»",
                       f"api_key: «{pick(ALNUM, 40)}»", f'"auth_token": "«{pick(HEX, 48)}»"',
                       f"SECRET_KEY = '«{pick(ALNUM + '!@#$%^&*(-_=+)', 50)}»'",
                       f"signing_key=«{pick(ALNUM, 44)}»"],
}


def uuid4() -> str:
    """A random version-4 UUID."""
    h = pick(HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{RNG.choice('89ab')}{h[17:20]}-{h[20:]}"


def non_luhn(length: int) -> str:
    """A digit string of ``length`` that fails the Luhn check (an order id, not a card)."""
    card = luhn_complete(RNG.choice("3456"), length)
    return card[:-1] + str((int(card[-1]) + 1) % 10)


def bad_iban(country: str, length: int) -> str:
    """An IBAN-shaped id whose check digits are wrong."""
    good = iban(country, length)
    return good[:2] + f"{(int(good[2:4]) + 1) % 100:02d}" + good[4:]


PLACEHOLDERS = ["${NPM_TOKEN}", "${DB_PASSWORD}", "$SECRET_KEY", "{{ secret }}", "{{secrets.API_KEY}}",
                "<your-key>", "<YOUR_API_TOKEN>", "xxxx", "xxxxxxxxxxxxxxxx", "XXXXXXXX", "changeme",
                "insert_key_here", "your_api_key_here", "********", "%(password)s", "REDACTED", "<redacted>",
                "[Filtered]", "${{ secrets.GITHUB_TOKEN }}", "%API_KEY%"]
NEG = {
    "placeholder value": PLACEHOLDERS,
    "placeholder in a pair": [f"{k}={v}" for k, v in zip(
        ["NPM_TOKEN", "password", "SECRET_KEY", "secret", "api_key", "token", "DB_PASSWORD", "api_key",
         "password", "api_key", "auth_token", "password", "client_secret", "password", "password",
         "token", "GITHUB_TOKEN", "API_KEY"],
        ["${NPM_TOKEN}", "${DB_PASSWORD}", "$SECRET_KEY", "{{ secret }}", "<your-key>", "<YOUR_API_TOKEN>",
         "xxxx", "xxxxxxxxxxxxxxxx", "changeme", "insert_key_here", "your_api_key_here", "********",
         "%(client_secret)s", "REDACTED", "[Filtered]", "{{secrets.API_KEY}}", "${{ secrets.GITHUB_TOKEN }}",
         "%API_KEY%"], strict=True)]
        + ['password: "${DB_PASSWORD}"', "api_key: <your-key>", 'token: "{{ vault_token }}"',
           "//registry.npmjs.org/:_authToken=${NPM_TOKEN}", "export AWS_SECRET_ACCESS_KEY=$AWS_SECRET",
           "PASSWORD=changeme", 'secret = "xxxxxxxxxxxx"', "Authorization: Bearer <token>",
           "Authorization: Bearer ${TOKEN}", "Authorization: Bearer {{ token }}"],
    "browser version": [f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                        f"Chrome/{v}.0.0.0 Safari/537.36" for v in (118, 119, 120, 121, 124)]
                       + ["Chrome/120.0.0.0", "Edg/120.0.2210.91", "Firefox/121.0", "Version/17.2.1 Safari/605.1.15",
                          "okhttp/4.12.0", "python-requests/2.32.3", "curl/8.5.0"],
    "not an ip": ["1.2.3.04", "01.02.03.04", "version 10.0.19045.3803", "256.1.1.1", "1.2.3.4.5",
                  "10.0.0.300", "build 5.15.0.91", "127.0.0.1", "0.0.0.0:8000", "::1"],
    "uuid": [uuid4() for _ in range(20)],
    "hash": [pick(HEX, 40) for _ in range(8)] + [pick(HEX, 64) for _ in range(8)] + [pick(HEX, 32) for _ in range(6)]
            + ["sha256:" + pick(HEX, 64), "md5=" + pick(HEX, 32), "etag W/\"" + pick(HEX, 32) + "\"",
               "commit " + pick(HEX, 40)],
    "timestamp": [str(RNG.randint(1_600_000_000, 1_800_000_000)) for _ in range(5)]
                 + [str(RNG.randint(1_600_000_000_000, 1_800_000_000_000)) for _ in range(5)]
                 + [str(RNG.randint(1_600_000_000_000_000, 1_800_000_000_000_000)) for _ in range(3)]
                 + ["2025-11-28T10:00:04.123456Z", "2026-01-01 00:00:00+00:00", "Tue, 01 Dec 2026 08:55:16 GMT",
                    "1732812345.123456", "12:30:45.123", "2025-11-28"],
    "version": ["5.2.19", "v2.75.0", "3.11.7", "1.0.0-rc.1", "2024.10.1", "0.9.1", "Django/5.2.19",
                "sentry-sdk==2.75.0", "psycopg 3.2.3", "node v20.11.1", "1.2.3", "10.11.12.13.14"],
    "order id": [f"order {non_luhn(16)}" for _ in range(5)] + [f"#{non_luhn(n)}" for n in (13, 15, 19)]
                + [f"INV-{RNG.randint(10**5, 10**6)}", f"ORD-2025-{RNG.randint(1000, 9999)}",
                   f"ref {bad_iban('DE', 22)}", f"id {bad_iban('GB', 22)}", "tracking 1Z999AA10123456784"],
    "sql": ['SELECT "books"."id", "books"."title" FROM "books" WHERE "books"."id" = %s LIMIT 21',
            "UPDATE users SET password = %s WHERE id = %s", "INSERT INTO tokens (key, user_id) VALUES (?, ?)",
            "SELECT * FROM accounts WHERE api_key = $1", "DELETE FROM sessions WHERE session_key = :key",
            "SELECT * FROM t WHERE secret = %(secret)s", "WHERE password = %s AND active = true",
            "SET LOCAL statement_timeout = 5000"],
    "traceback": ['  File "/srv/app/library/views.py", line 42, in post',
                  "Traceback (most recent call last):", "KeyError: 'password'",
                  "raise ValidationError({'password': 'too short'})",
                  "django.db.utils.IntegrityError: duplicate key value violates unique constraint",
                  '  File "/usr/lib/python3.11/site-packages/psycopg/cursor.py", line 732, in execute',
                  "AttributeError: 'NoneType' object has no attribute 'token'",
                  "TypeError: authenticate() missing 1 required positional argument: 'password'"],
    "path": ["/srv/app/library/api/views.py", "/home/app/.cache/pip/wheels/ab/cd", "C:\\Users\\app\\secrets.yaml",
             "/etc/ssl/private/server.key", "/var/lib/postgresql/16/main", "static/js/app.4f3c2a1b.js",
             "~/.ssh/id_ed25519.pub", "/api/v1/tokens/revoke/"],
    "url": ["https://api.example.com/v1/books?page=2&sort=asc", "https://example.com:8443/path#frag",
            "http://127.0.0.1:8000/api/v1/orders/42/", "https://docs.sentry.io/platforms/python/",
            "https://github.com/getsentry/sentry-python/blob/master/README.md",
            "postgres://db.internal:5432/app", "redis://cache:6379/0", "https://example.com/users/42",
            "https://api.github.com/repos/a/b/pulls?state=open", "https://s3.amazonaws.com/bucket/key.txt"],
    "float": ["49.41837293847291", "0.30000000000000004", "3.141592653589793", "1e-07", "-273.15",
              "Throttled(wait=23.456789012345678)", "Decimal('129.90')", "12345.678901234567"],
    "port": ["port 5432", "localhost:6379", ":8000", "0.0.0.0:80 -> 8080/tcp", "EXPOSE 8000",
             "listening on [::]:443"],
    "http status": ["HTTP/1.1 200 OK", "HTTP/2 404", "HTTP/1.1 503 Service Unavailable",
                    "GET /api/books/?page=2 HTTP/1.1 200 1432 0.004s", "POST /login HTTP/1.1 302",
                    "HTTP/1.1 401 Unauthorized"],
    "ordinary text": ["The quick brown fox jumps over the lazy dog", "author: Ann Leckie", "tokenizer=bert-base",
                      "token_type=bearer", "session_count=3", "is_authenticated=True", "max_tokens=4096",
                      "password_length=12", "uses bearer authentication", "Password reset email sent",
                      "secretary of state", "passage 3 of 10", "sort=asc&page=2", "keyboard layout: us",
                      "monkey business", "primary_key=id", "cache_key=books:list:page:2", "key=page",
                      "sid_count=3", "pin_length=4", "authentication failed", "Invalid token", "token expired",
                      "no password given", "csrf_cookie_name=csrftoken", "public_key=pk_live_x"],
    "id-like": [f"req_{pick(HEX, 24)}" for _ in range(3)] + [f"cus_{pick(ALNUM, 14)}" for _ in range(3)]
               + [f"evt_{pick(ALNUM, 24)}", f"trace_id={pick(HEX, 32)}", f"span {pick(HEX, 16)}",
                  f"pk_live_{pick(ALNUM, 24)}", f"pk_test_{pick(ALNUM, 24)}", "0x7fa787266150",
                  "<object at 0x7f3a1c200000>", "ghp_short", "sk-123", "AKIAIOSFODNN7EXAMPL", "glpat-short",
                  "xoxb-123", "npm_install", "hf_hub_download", "re_compile_patterns", "key-value store",
                  "SG.example", "dapi_version", "shpat_", "AC/DC", "SKU-12345", "sq0-north",
                  "EAAAAAAAAAAAA", "NRAK-", "lin_api_docs", "dp.pt.example", "glsa_readme"],
    "log line": ["charged order 1004 for 129.90 EUR", "cache miss for books:list:page:2 (ttl 300 s)",
                 "worker-3 picked up task library.tasks.send_overdue_notices[8f1c]",
                 "slow query took 523.4 ms: SELECT 1", "retrying in 2.5 s (attempt 3 of 5)",
                 "GET https://api.example.com/v1/books 200 in 41 ms", "Watching for file changes with StatReloader",
                 "Performing system checks...", "System check identified no issues (0 silenced).",
                 "Starting development server at http://127.0.0.1:8000/", "Quit the server with CONTROL-C.",
                 "celery@web-1 ready.", "Connected to redis://cache:6379/0", "mingle: all alone",
                 "Task library.tasks.reindex[4c79f60c] succeeded in 0.0132s: None",
                 "received 3 events, dropped 0 (rate_limited)", "throttled for 49 seconds",
                 "loaded 200 books, 500 readers", "user 42 borrowed book 7", "Login failed for user 42",
                 "password changed for user 42", "token refreshed for client 7", "session started (id 42)",
                 "api key rotated (key id 9)", "secret manager unavailable, using cached value",
                 "authorization header missing", "cookie consent: accepted", "credentials expired for job 12",
                 "signature verified", "pin code accepted", "otp sent via sms", "ssn field is optional",
                 "iban field validated", "dsn not configured, using local inbox", "jwt audience mismatch"],
    "phone and dates": ["+44 20 7946 0958", "(555) 123-4567", "555-0142", "2025-11-28 10:00",
                        "28/11/2025", "11.28.2025", "ext 4471", "1-800-555-0199"],
}


def main() -> None:
    """Write positives.txt: the hand-listed documented values, then the synthesized ones."""
    documented = (HERE / "documented.txt").read_text()
    lines = [documented.rstrip("\n"), ""]
    for name, values in SYNTH.items():
        lines.append(f"[{name}] synthesized")
        lines += values if name != "private_key" else [v.replace("\n", "\\n") for v in values]
        lines.append("")
    (HERE / "positives.txt").write_text("\n".join(lines))
    neg = ["# Negative values: ordinary or near-miss text the scrubber must leave unchanged wherever it",
           "# is planted. Written by generate.py (the kinds are docs/scrubbing.md's and the issue's).", ""]
    for kind, values in NEG.items():
        neg += [f"[{kind}]", *values, ""]
    (HERE / "negatives.txt").write_text("\n".join(neg))


if __name__ == "__main__":
    main()
