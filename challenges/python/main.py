"""Summarize log lines: counts per level and the most frequent messages."""

from collections import Counter


def summarize(lines: list[str]) -> dict:
    """Each line looks like 'LEVEL message'. Return {'levels': {...}, 'top': [(message, count), ...]}."""
    raise NotImplementedError("your code here")


if __name__ == "__main__":
    print(summarize(["INFO started", "ERROR disk full", "ERROR disk full", "WARN slow"]))
    print(Counter())
