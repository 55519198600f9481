"""Authors, books and loans."""

from django.db import models


class Author(models.Model):
    """A writer whose books the library lends."""

    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class Book(models.Model):
    """A story in the catalogue; the ISBN is unique, so duplicates fail in the database."""

    title = models.CharField(max_length=300)
    isbn = models.CharField(max_length=20, unique=True)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")

    def __str__(self) -> str:
        return self.title


class Loan(models.Model):
    """A book lent to a reader until a due date."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="loans")
    reader = models.CharField(max_length=150)
    email = models.EmailField()
    due = models.DateField()
    returned = models.BooleanField(default=False)
