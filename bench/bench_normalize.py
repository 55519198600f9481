"""Grouping's message normalization on hostile megabytes, relative to 1 MB of ordinary log text;
then how many fresh ids of each shape it recognises, and how many code words it leaves alone.

Every pattern in errorwarden/grouping/normalize.py is anchored and bounded so each input
position is tried once; a quadratic pattern on 1 MB would be thousands of times the anchor.
Prints the ratio per input from one run (best of three each), the share of 20,000 fresh ids
per shape (tests/support/ids.py) that normalize to the shape's one placeholder, and the share
of the identifiers in the installed Django, DRF, Celery, botocore and the standard library
(names of 10+ characters mixing cases) that come out unchanged; never fails.
"""

from __future__ import annotations

import time

from errorwarden.grouping.normalize import normalize_message

MB = 1 << 20
ADVERSARIAL = {
    "email-runs": "a" * (MB // 2) + "@" + "a" * (MB // 2) + "@",
    "at-signs": "a@" * (MB // 2),
    "dotted-domain": "x@" + "a." * (MB // 2),
    "digit-run": "1" * MB,
    "dotted-digits": "1." * (MB // 2),
    "colons": "1:" * (MB // 2),
    "double-colons": "1::" * (MB // 3),
    "quotes": "'" * MB,
    "open-quotes": ("'" + "a" * 199) * (MB // 200),
    "hex-run": "a1" * (MB // 2),
    "date-like": "2024-01-0" * (MB // 9),
    "id-token-run": "aB3_" * (MB // 4),
    "prefix-runs": "cus_aB3dE5fG7hJ9kL1m " * (MB // 22),
    "arn-colons": "arn:aws:s3:" * (MB // 11),
    "base64-run": "aB3+" * (MB // 4),
}


def best_of(text: str, runs: int = 3) -> float:
    """The fastest of `runs` normalizations of `text`, in seconds."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        normalize_message(text)
        best = min(best, time.perf_counter() - started)
    return best


def recognition(count: int = 20_000) -> None:
    """Print the share of fresh ids of each shape that normalize to its most common form."""
    from collections import Counter

    from tests.support.ids import SHAPES

    print(f"fresh ids recognised (of {count:,} per shape):")
    for name, make in SHAPES.items():
        forms = Counter(normalize_message(f"Reader {make()} not found") for _ in range(count))
        form, seen = forms.most_common(1)[0]
        print(f"  {name:<16} {seen / count:8.4%}  {form}")


def code_words() -> None:
    """Print the share of mixed-case identifiers of installed libraries that normalization keeps."""
    import ast
    import sysconfig
    from pathlib import Path

    import botocore
    import celery
    import django
    import rest_framework

    roots = [Path(sysconfig.get_paths()["stdlib"]), *(Path(m.__path__[0]) for m in
                                                      (django, rest_framework, celery, botocore))]
    names: set[str] = set()
    for root in roots:
        for path in root.rglob("*.py"):
            if "test" in path.parts[-1] or "/tests/" in str(path):
                continue
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
            names |= {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef | ast.FunctionDef)}
    mixed = sorted(n for n in names if len(n) >= 10 and n.isalnum() and not n.islower() and not n.isupper())
    changed = [n for n in mixed if "<id>" in normalize_message(n)]
    print(f"code words: {len(mixed) - len(changed):,} of {len(mixed):,} mixed-case identifiers (10+ "
          f"characters) kept ({1 - len(changed) / len(mixed):.2%}); taken for ids, e.g. {changed[:8]}")


def main() -> None:
    """Print each hostile input's cost as a multiple of ordinary text's."""
    line = "Order 123 for bob@example.com at 2024-01-02T03:04:05Z from 10.0.0.1 id deadbeef12 'x' ok. "
    ordinary = (line * (MB // len(line) + 1))[:MB]
    anchor = best_of(ordinary)
    print(f"anchor: 1 MB of ordinary log text, {anchor * 1000:.1f} ms")
    for name, text in ADVERSARIAL.items():
        print(f"  {name:<14} {best_of(text) / anchor:6.2f}x")
    recognition()
    code_words()


if __name__ == "__main__":
    main()
