"""A function with no imports, for measuring the python kind's own cost."""


def ping():
    return "pong"
