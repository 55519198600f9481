"""Serializers; uniqueness is left to the database on purpose, so duplicates fail there."""

import datetime

from rest_framework import serializers

from library.models import Book, Loan


class BookSerializer(serializers.ModelSerializer):
    """A book; `isbn` skips DRF's unique check so the database raises the integrity error."""

    isbn = serializers.CharField(max_length=20)
    author_name = serializers.CharField(source="author.name", read_only=True)

    class Meta:
        model = Book
        fields = ["id", "title", "isbn", "author", "author_name"]


class LoanSerializer(serializers.ModelSerializer):
    """A loan; the due date must lie in the future and within 60 days."""

    class Meta:
        model = Loan
        fields = ["id", "book", "reader", "email", "due"]

    def validate_due(self, value):
        """Refuse due dates in the past or too far ahead."""
        today = datetime.date.today()
        if not today < value <= today + datetime.timedelta(days=60):
            raise serializers.ValidationError("Due date must be within the next 60 days.")
        return value
