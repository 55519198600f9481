"""Clients for the external services the library uses: S3 (covers), Clerk (auth), Resend (email)."""

from __future__ import annotations

import boto3
import httpx
import requests
from botocore.config import Config
from django.conf import settings

TIMEOUT = 3.0


def upload_cover(book_id: int, content: bytes) -> str:
    """Store a cover image in S3 and return its key."""
    client = boto3.client(
        "s3", endpoint_url=settings.S3_ENDPOINT_URL or None, region_name="us-east-1",
        aws_access_key_id="demo", aws_secret_access_key="demo",
        config=Config(connect_timeout=TIMEOUT, read_timeout=TIMEOUT, retries={"max_attempts": 1}),
    )
    key = f"covers/{book_id}.jpg"
    client.put_object(Bucket="muejam-covers", Key=key, Body=content)
    return key


def verify_session(session_token: str) -> dict:
    """Ask Clerk whether a session token is valid."""
    response = requests.post(f"{settings.CLERK_API_URL}/v1/sessions/verify",
                             json={"token": session_token}, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()


def send_email(to: str, subject: str, text: str) -> str:
    """Send a transactional email through Resend and return its id."""
    response = httpx.post(f"{settings.RESEND_API_URL}/emails", timeout=TIMEOUT,
                          json={"from": "library@muejam.local", "to": [to], "subject": subject, "text": text})
    response.raise_for_status()
    return response.json().get("id", "")
