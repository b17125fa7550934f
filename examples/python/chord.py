"""A chord: count the words of many documents in parallel, then add them up in a callback.

    qraft-worker -A shop.tasks:app -Q reports &      # from examples/python
    python chord.py
"""

from __future__ import annotations

from qraft import chord

from shop.tasks import count_words, total

DOCUMENTS = [
    "the quick brown fox",
    "jumps over the lazy dog",
    "a task queue that keeps its promises",
]


def main() -> dict[str, object]:
    flow = chord((count_words.s(text) for text in DOCUMENTS), total.s(title="words"))
    result = flow.apply_async()
    print(f"chord {result.id} sent; waiting for its callback")
    value: dict[str, object] = result.get(timeout=60)
    print(value)  # {'title': 'words', 'documents': 3, 'words': 16}
    return value


if __name__ == "__main__":
    main()
