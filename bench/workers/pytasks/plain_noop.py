"""The function of the baseline: the server's own python task kind calling
plain_noop:noop, which imports nothing (bench/workers)."""


def noop():
    """noop returns at once."""
    return None
