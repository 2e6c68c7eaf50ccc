"""A Flask app with Flask-SQLAlchemy for the worker tests (as in docs/tasks.md)."""

import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Note(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    text = db.Column(db.String(200))


def create_app():
    app = Flask(__name__)
    app.config["GREETING"] = "hello from the app"
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.environ["FLASKAPP_DB"]
    db.init_app(app)
    with app.app_context():
        db.create_all()  # the warm parent touches the database: its pool holds a connection
    return app
