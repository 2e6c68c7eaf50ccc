"""Functions that the python-kind tests schedule."""
import asyncio
import os


def add(a, b, scale=1):
    return {"sum": (a + b) * scale, "cwd": os.path.basename(os.getcwd())}


async def slow_hello(name):
    await asyncio.sleep(0.01)
    return "hello " + name


def odd_value():
    return {1, 2}


def boom():
    raise ValueError("the ledger does not balance")


def leak():
    print("password is", os.environ["DB_PASSWORD"])
    return {"pw": os.environ["DB_PASSWORD"]}
