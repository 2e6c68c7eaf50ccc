"""A tiny Flask app with Flask-SQLAlchemy, the shape of the apps whose
APScheduler jobs move to Sundial."""
import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Visit(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    note = db.Column(db.String(80), nullable=False)


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.environ["APP_DB"]
    db.init_app(app)
    with app.app_context():
        db.create_all()
    return app
