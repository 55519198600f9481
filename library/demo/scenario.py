"""The demo's traffic: ordinary reads and writes, and failures of every category the spec groups."""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field

import requests

from library.auth import issue_token
from library.demo.seed import READER, Seeded


@dataclass
class Outcome:
    """Status codes seen per step of the scenario."""

    statuses: Counter = field(default_factory=Counter)
    requests: int = 0

    def add(self, label: str, status: int) -> None:
        """Record one answer."""
        self.requests += 1
        self.statuses[(label, status)] += 1


def run(base: str, outcome: Outcome, rows: Seeded) -> None:
    """Drive the API at `base` through the whole script, on the demo's own rows only."""
    http = requests.Session()
    alice = {"Authorization": f"Bearer {issue_token(READER)}"}
    due = (datetime.date.today() + datetime.timedelta(days=14)).isoformat()
    book, other, author = rows.book_ids[0], rows.book_ids[1], rows.author_ids[0]

    def call(label: str, method: str, path: str, times: int = 1, **kwargs) -> None:
        for _ in range(times):
            outcome.add(label, http.request(method, base + path, timeout=15, **kwargs).status_code)

    call("ordinary", "GET", "/api/books/", times=60)
    for pk in rows.book_ids[:5]:
        call("ordinary", "GET", f"/api/books/{pk}/", times=4)
    call("ordinary", "GET", "/api/me/", times=20, headers=alice)
    call("ordinary", "POST", "/api/loans/", times=20, headers=alice,
         json={"book": book, "reader": READER, "email": f"{READER}@example.com", "due": due})
    call("n+1 query", "GET", "/api/books/?naive=1", times=3)
    call("slow query", "GET", "/api/reports/popular/?depth=1500000", times=2)
    call("db integrity (INSERT)", "POST", "/api/books/", times=3,
         json={"title": "Duplicate", "isbn": rows.isbn, "author": author})
    call("db integrity (UPDATE)", "PATCH", f"/api/books/{other}/", times=2, json={"isbn": rows.isbn})
    call("db timeout", "GET", "/api/reports/overdue/", times=2)
    call("db connection", "GET", "/api/health/replica/", times=2)
    call("auth invalid token", "GET", "/api/me/", times=3, headers={"Authorization": "Bearer forged.token"})
    call("auth not authenticated", "POST", "/api/loans/", times=2, json={})
    call("auth permission denied", "GET", "/api/admin/stats/", times=2, headers=alice)
    call("external s3", "POST", f"/api/books/{book}/cover/", times=2, data=b"\xff\xd8jpeg")
    call("external clerk", "POST", "/api/auth/verify/", times=2,
         json={"token": "sess_2abc", "email": "reader@example.com"})
    call("external resend", "POST", f"/api/loans/{rows.loan_id}/remind/", times=2)
    call("validation", "POST", "/api/loans/", times=3, headers=alice,
         json={"book": book, "reader": READER, "email": "not-an-email", "due": "1999-01-01"})
    for pk in rows.book_ids[:5]:  # reading fast enough to hit the per-client limit on the book page
        call("rate limit", "GET", f"/api/books/{pk}/", times=8)
    call("rate limit", "GET", f"/api/books/{book}/", times=32, headers=alice)  # alice's own budget
    call("rate limit", "GET", "/api/reports/popular/?depth=10", times=10)  # the API-wide budget
    for number in range(1000, 1012):  # twelve ids, one issue: a critical burst
        call("generic (order not found)", "GET", f"/api/orders/{number}/")
    call("celery task", "POST", "/api/tasks/reminders/")
    call("ordinary", "GET", "/api/books/", times=60)
