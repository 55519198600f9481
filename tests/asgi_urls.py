"""Test-only views served under uvicorn by tests/test_asgi.py: async and sync, answering and raising."""

import asyncio

from django.http import JsonResponse
from django.urls import path


async def async_ok(request):
    """An async view that answers after awaiting (it runs on the event loop, not in a thread)."""
    await asyncio.sleep(0)
    return JsonResponse({"ok": True, "view": "async"})


async def async_boom(request, pk: int):
    """An async view that raises after awaiting, with the id in the message."""
    await asyncio.sleep(0)
    raise RuntimeError(f"async ledger {pk} is out of balance")


def sync_ok(request):
    """A plain view, which Django runs in a thread under ASGI."""
    return JsonResponse({"ok": True, "view": "sync"})


def sync_boom(request, pk: int):
    """A plain view that raises."""
    raise ValueError(f"sync ledger {pk} is out of balance")


urlpatterns = [
    path("async/ok/", async_ok),
    path("async/boom/<int:pk>/", async_boom),
    path("sync/ok/", sync_ok),
    path("sync/boom/<int:pk>/", sync_boom),
]
