"""A Celery task that fails with what it was given in the message (tests/test_e2e_hostile_celery.py);
a worker loads it with `-I tests.hostile_tasks`."""

from celery import shared_task


@shared_task(name="tests.hostile_tasks.parse")
def parse(value: str) -> None:
    """Fails like careless code: the argument echoed into the exception's message."""
    raise ValueError(f"could not parse {value}")
