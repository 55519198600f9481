"""A small HTTP load generator for bench_gunicorn when wrk is not installed.

``python -m bench.http_load HOST PORT PATH SECONDS CONNECTIONS`` keeps CONNECTIONS requests in
flight (one thread each, a new connection per request, as gunicorn's sync workers close every
connection) for SECONDS and prints one JSON line: requests answered, seconds, and the count of
each status (0 for a request that failed). It runs in its own process, so its work lands on the
other core rather than in the server being measured.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import Counter


def _one(host: str, port: int, request: bytes) -> int:
    try:
        with socket.create_connection((host, port), timeout=30) as conn:
            conn.sendall(request)
            chunks = []
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                chunks.append(data)
        head = b"".join(chunks)[:16].split(b" ")
        return int(head[1]) if len(head) > 1 and head[1].isdigit() else 0
    except OSError:
        return 0


def run(host: str, port: int, path: str, seconds: float, connections: int) -> dict[str, object]:
    """Load host:port/path from `connections` threads for `seconds`; return the counts."""
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n"
               "User-Agent: bench-http-load/1.0\r\nConnection: close\r\n\r\n").encode()
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def worker() -> None:
        local: Counter[int] = Counter()
        while time.perf_counter() < deadline:
            local[_one(host, port, request)] += 1
        with lock:
            statuses.update(local)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return {"requests": sum(statuses.values()), "seconds": elapsed,
            "statuses": {str(k): v for k, v in statuses.items()}}


if __name__ == "__main__":
    host, port, path, seconds, connections = sys.argv[1:6]
    print(json.dumps(run(host, int(port), path, float(seconds), int(connections))))
