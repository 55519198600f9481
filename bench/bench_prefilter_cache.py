"""What the hyperscan prefilter's cache (SENTRY_SCRUB_CACHE_DIR) saves at start-up.

The backend's `django.setup()` (DJANGO_SETTINGS_MODULE=config.settings, init_sentry inside), each
in a new interpreter, one run of each: hyperscan with an empty cache (cold: it compiles and
stores), the same cache again (warm: it loads), and SENTRY_SCRUB_ENGINE=re2 as the anchor. The
figure is the process CPU time django.setup() takes (time.process_time), not wall time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMED = ("import time\nt = time.process_time()\nimport django\ndjango.setup()\n"
         "print(time.process_time() - t)")


def _setup_cpu(cache: str, engine: str) -> float:
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SENTRY_SCRUB_CACHE_DIR": cache,
               "SENTRY_SCRUB_ENGINE": engine}
    done = subprocess.run([sys.executable, "-c", TIMED], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=600, check=True)
    return float(done.stdout.split()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        cold = _setup_cpu(cache, "auto")
        warm = _setup_cpu(cache, "auto")
    re2 = _setup_cpu("off", "re2")
    print("django.setup() process CPU, config.settings, one run each:")
    print(f"  hyperscan cold (compiles, stores): {cold:.2f} s   warm (loads the cache): {warm:.2f} s   "
          f"re2 (anchor): {re2:.2f} s   warm/re2 {warm / re2:.2f}x, cold/re2 {cold / re2:.2f}x")


if __name__ == "__main__":
    main()
