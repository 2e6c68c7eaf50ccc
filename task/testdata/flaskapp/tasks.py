"""A scheduled function that uses db.session directly: without an app
context this raises "Working outside of application context"."""
from app import Visit, db


def record_visit(note):
    db.session.add(Visit(note=note))
    db.session.commit()
    return {"visits": Visit.query.count()}
