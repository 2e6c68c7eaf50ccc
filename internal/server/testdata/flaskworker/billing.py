"""A Flask app as a team runs it: Flask-SQLAlchemy, a factory, and jobs
declared with Flask-APScheduler's surface — through Sundial's extension,
the one import that changed. Each run writes a row through db.session.

Environment: APP_DB (the app's SQLite file), SUNDIAL_URL, SUNDIAL_TOKEN,
SUNDIAL_WORKER_TOKEN; HOLD_SECONDS (how long "hold" takes).
"""
import os
import time

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.exc import OperationalError

import sundial
from sundial.flask import APScheduler

db = SQLAlchemy()
scheduler = APScheduler()


class Row(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    job = db.Column(db.String(50), nullable=False)
    run_id = db.Column(db.String(50), nullable=False)
    attempt = db.Column(db.Integer, nullable=False)
    pid = db.Column(db.Integer, nullable=False)


def record():
    run = sundial.current_run()
    db.session.add(Row(job=run.job_id, run_id=run.id, attempt=run.attempt, pid=os.getpid()))
    db.session.commit()


@scheduler.task("interval", id="tick", seconds=1, task="billing_tick")
def tick():
    record()
    return {"rows": Row.query.filter_by(job="tick").count()}


@scheduler.task("date", id="hold", run_date="2099-01-01T00:00:00+00:00", task="billing_hold",
                options={"max_attempts": 2, "retry_backoff": "100ms"})
def hold():
    print("holding", flush=True)
    record()
    time.sleep(float(os.environ.get("HOLD_SECONDS", "30")))
    return "held"


def create_app():
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI="sqlite:///" + os.environ["APP_DB"],
        SUNDIAL_URL=os.environ["SUNDIAL_URL"],
        SUNDIAL_TOKEN=os.environ["SUNDIAL_TOKEN"],
        SUNDIAL_WORKER_TOKEN=os.environ.get("SUNDIAL_WORKER_TOKEN"),
        SCHEDULER_API_ENABLED=True,
    )
    db.init_app(app)
    with app.app_context():
        try:
            db.create_all()
        except OperationalError:  # another web process created it meanwhile
            pass
    scheduler.init_app(app)
    scheduler.start()
    return app
