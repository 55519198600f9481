"""The reliability suite: the project under gunicorn on loopback, one fault at a time."""
