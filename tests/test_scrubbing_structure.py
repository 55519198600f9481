"""Structural cases of key/value reading: where a secret sits decides whether it is found."""

from __future__ import annotations

import pytest

from errorwarden.scrubbing import Scrubber

SCRUBBER = Scrubber()

# (text, what must be gone, what must stay)
PAIRS = [
    ("passwd: m{{h}o)p!x9", "m{{h}o)p!x9", "passwd: "),
    ("password: correct horse battery staple", "horse battery staple", "password: "),
    ('api_key := "q7w8e9r0t1y2u3i4"', "q7w8e9r0t1y2u3i4", "api_key := "),
    ("'secret' => 'hunter2hunter2'", "hunter2hunter2", "'secret' => "),
    ("$config['db_password'] => s3cr3tPass", "s3cr3tPass", "db_password"),
    ("db_password: hunter2-Correct", "hunter2-Correct", "db_password: "),
    ('api_token = "tok_9f8e7d6c5b4a"', "tok_9f8e7d6c5b4a", "api_token = "),
    ('payload={"password": "pw-9Xq2Lm"}', "pw-9Xq2Lm", '"password": '),
    ('msg "{\\"token\\": \\"abcd1234efgh\\"}"', "abcd1234efgh", "token"),
    ("mysql --user=root --password s3cr3tPw dbname", "s3cr3tPw", "--password "),
    ("deploy --api-key=AbCdEf123456 --verbose", "AbCdEf123456", "--verbose"),
    ("mysql -u root -p s3cr3tPw -h db", "s3cr3tPw", "-h db"),
    ("curl -u admin:Sup3rS3cret https://api.example.com", "Sup3rS3cret", "curl -u admin:"),
    ('curl -H "apikey: 7f3a9c2e1b4d" https://api.example.com', "7f3a9c2e1b4d", 'curl -H "apikey: '),
    ("Authorization: Api-Token 22cb5d8e9f0a1b2c3d4e", "22cb5d8e9f0a1b2c3d4e", "Authorization: "),
    ("Authorization: Custom a1b2c3d4e5f6g7h8", "a1b2c3d4e5f6g7h8", "Authorization: "),
    ('if "hunter2hunter2" == password:', "hunter2hunter2", "== password"),
    ("assert 'tok-998877' == settings.API_TOKEN", "tok-998877", "settings.API_TOKEN"),
    ("admin_pw=Qwerty!234", "Qwerty!234", "admin_pw="),
    ("X-Signing-Key: 0a1b2c3d4e5f", "0a1b2c3d4e5f", "X-Signing-Key: "),
    ("service_apikey=zz9yy8xx7", "zz9yy8xx7", "service_apikey="),
    ("X-Partner-Api: 9k8j7h6g5f", "9k8j7h6g5f", "X-Partner-Api: "),
    ("Server=db;Database=app;User Id=sa;Password=Pa55w0rd!;Encrypt=true", "Pa55w0rd!", "Encrypt=true"),
    ("jdbc:postgresql://db:5432/app?user=app&password=jdbcPw42&ssl=true", "jdbcPw42", "ssl=true"),
    ("Data Source=db;Initial Catalog=app;Pwd=odbcPw77;", "odbcPw77", "Initial Catalog=app"),
    ("[database]\npassword = \"tomlPw99\"\nhost = \"db\"", "tomlPw99", 'host = "db"'),
    ("redis:\n  password: yamlPw55\n  port: 6379", "yamlPw55", "port: 6379"),
]


@pytest.mark.parametrize(("text", "secret", "kept"), PAIRS, ids=[p[0][:40] for p in PAIRS])
def test_pair_shapes_lose_their_value_and_keep_their_key(text, secret, kept):
    """Each key/value shape loses its whole value while the key and the text around stay."""
    out = SCRUBBER.scrub_text(text)
    assert secret not in out, out
    assert kept in out, out


SOURCE = [
    ('    conn = psycopg.connect("host=db password=srcPw123 dbname=app")', "srcPw123"),
    ("    url = 'https://api.example.com/?token=srcTok456&page=2'", "srcTok456"),
    ('    headers = {"Authorization": "Bearer srcBearer789xyz"}', "srcBearer789xyz"),
]


@pytest.mark.parametrize(("line", "secret"), SOURCE)
def test_pairs_inside_string_literals_of_source_lines_are_filtered(line, secret):
    """A pair written inside a string literal of code is a literal: its value goes."""
    frame = {"filename": "app.py", "pre_context": [], "context_line": line, "post_context": []}
    event = SCRUBBER.scrub_event({"exception": {"values": [{"stacktrace": {"frames": [frame]}}]}})
    assert secret not in event["exception"]["values"][0]["stacktrace"]["frames"][0]["context_line"]


def test_names_in_source_code_stay_readable():
    """``authenticate(password=password)`` names a variable: code keeps its names."""
    line = "    user = authenticate(request, username=username, password=password)"
    frame = {"filename": "app.py", "pre_context": [], "context_line": line, "post_context": []}
    event = SCRUBBER.scrub_event({"exception": {"values": [{"stacktrace": {"frames": [frame]}}]}})
    assert event["exception"]["values"][0]["stacktrace"]["frames"][0]["context_line"] == line


@pytest.mark.parametrize("key", ["password=hunter2", "Authorization: Bearer 9fQ2xL7vK3pZ8rT1wY6u",
                                 "token: abc123def456"])
def test_a_sensitive_dict_key_whose_text_holds_the_secret_is_rewritten(key):
    """``{"password=hunter2": 1}`` loses the secret in the key itself, not only its value."""
    event = SCRUBBER.scrub_event({"extra": {key: "x", "other": 1}})
    keys = list(event["extra"])
    assert key not in keys and len(keys) == 2
    assert not any(part in str(event) for part in ("hunter2", "9fQ2xL7vK3pZ8rT1wY6u", "abc123def456"))


@pytest.mark.parametrize("where", ["breadcrumb", "span", "tag"])
def test_an_ip_glued_into_a_cache_key_is_removed(where):
    """DRF's anonymous throttle key ``:1:throttle_book_detail_198.51.100.7`` keeps its prefix only."""
    key = ":1:throttle_book_detail_198.51.100.7"
    event = {"breadcrumbs": {"values": [{"category": "cache", "message": f"get {key}"}]},
             "spans": [{"op": "cache.get", "description": key}], "tags": {"cache.key": key}}
    SCRUBBER.scrub_event(event)
    text = {"breadcrumb": event["breadcrumbs"]["values"][0]["message"],
            "span": event["spans"][0]["description"], "tag": event["tags"]["cache.key"]}[where]
    assert "198.51.100.7" not in text and ":1:throttle_book_detail_[ip]" in text


@pytest.mark.parametrize("query", ["email=jane%40example.com&page=2", "api_key=abc123&page=2",
                                   "next=%2Fpay%3Ftoken%3Dabc123&page=2", "q=%5BFiltered%5D&page=2"])
def test_a_scrubbed_query_string_keeps_its_brackets(query):
    """Placeholders in a query string read ``[Filtered]``, never ``%5BFiltered%5D``."""
    event = SCRUBBER.scrub_event({"request": {"query_string": query}})
    out = event["request"]["query_string"]
    assert "%5B" not in out and "page=2" in out and "[" in out


def test_sdk_thread_ids_stay_while_values_beside_them_are_scrubbed():
    """A thread id is a 15-digit number that passes Luhn one time in ten (this one does; one like it was
    seen as [card] in a run): scrubbed, it unlinked a transaction from its profile's samples. The
    ids sentry-sdk writes stay; a card beside them, or in a thread id's place, does not."""
    thread = "139957591066308"
    card = "4111 1111 1111 1111"
    assert Scrubber().scrub_text(thread) == "[card]"  # the shape that made the trouble
    event = {"type": "transaction", "transaction": "/api/reports/popular/",
             "contexts": {"trace": {"trace_id": "ab" * 16, "span_id": "cd" * 8,
                                    "data": {"thread.id": thread, "thread.name": "MainThread",
                                             "note": f"paid with {card}"}}},
             "spans": [{"op": "db", "description": "SELECT 1", "span_id": "ef" * 8,
                        "data": {"thread.id": int(thread), "db.system": "sqlite"}},
                       {"op": "db", "description": "SELECT 2", "span_id": "01" * 8,
                        "data": {"thread.id": f"card {card}"}}]}
    Scrubber().scrub_event(event)
    trace = event["contexts"]["trace"]["data"]
    assert trace["thread.id"] == thread and trace["note"] == "paid with [card]"
    assert event["spans"][0]["data"]["thread.id"] == int(thread)
    assert event["spans"][1]["data"]["thread.id"] == "card [card]"  # not an id: scrubbed as any value
