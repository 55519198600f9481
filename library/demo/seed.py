"""The demo's rows: added beside whatever the database holds, and removed again by their ids only."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from library.models import Author, Book, Loan

READER = "alice"  # the signed-in reader of the scenario (library.auth tokens name a username)


@dataclass
class Seeded:
    """What the demo added, so the scenario can address it and the demo can remove exactly it."""

    author_ids: list[int] = field(default_factory=list)
    book_ids: list[int] = field(default_factory=list)
    loan_id: int = 0  # the loan without an email address (the reminder's failure)
    isbn: str = ""  # the first book's ISBN, which the integrity failures repeat
    user_id: int | None = None  # set only when the demo created the reader


def seed(books: int = 30, authors: int = 10) -> Seeded:
    """Add the demo's authors, books, one loan and (if missing) the reader; nothing is deleted."""
    # A run token in every ISBN: the unique column never meets a row of an earlier run or of yours.
    token = secrets.token_hex(3)
    done = Seeded()
    with transaction.atomic():
        made = [Author.objects.create(name=f"Demo author {i}") for i in range(1, authors + 1)]
        done.author_ids = [a.pk for a in made]
        rows = [Book.objects.create(title=f"Demo story {i}", isbn=f"demo-{token}-{i:03d}",
                                    author=made[i % authors]) for i in range(1, books + 1)]
        done.book_ids, done.isbn = [b.pk for b in rows], rows[0].isbn
        done.loan_id = Loan.objects.create(book=rows[0], reader="bob", email="", due="2026-01-01").pk
        users = get_user_model().objects
        if not users.filter(username=READER).exists():
            done.user_id = users.create_user(READER, email=f"{READER}@example.com").pk
    return done


def remove(done: Seeded) -> dict[str, int]:
    """Delete the demo's rows by id (loans made through the API go with their demo book)."""
    counts: dict[str, int] = {}
    with transaction.atomic():
        counts["loans"] = Loan.objects.filter(book_id__in=done.book_ids).delete()[0]
        counts["books"] = Book.objects.filter(pk__in=done.book_ids).delete()[0]
        counts["authors"] = Author.objects.filter(pk__in=done.author_ids, books__isnull=True).delete()[0]
        if done.user_id is not None:
            counts["users"] = get_user_model().objects.filter(pk=done.user_id).delete()[0]
    return counts
