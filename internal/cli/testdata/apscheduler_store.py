"""Make an APScheduler 3 SQLAlchemy job store as a Flask app would keep it.

Usage: apscheduler_store.py DB_URL
"""
import sys

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=sys.argv[1])}, timezone="UTC")
s.start(paused=True)
s.add_job("json:dumps", "cron", id="report", name="Daily report", day_of_week="mon-fri", hour=9,
          timezone="Europe/Berlin", args=[1], kwargs={"indent": 2}, misfire_grace_time=120, coalesce=True,
          max_instances=2)
s.add_job("json:dumps", "interval", args=[1], id="sync", minutes=5, start_date="2026-01-01 00:00:00",
          timezone="Asia/Shanghai", jitter=10)
s.add_job("json:dumps", "date", args=[1], id="once", run_date="2030-12-24 18:00:00", timezone="Asia/Shanghai")
s.add_job("json:dumps", "cron", args=[1], id="paused", minute="*/15").pause()
s.add_job("json:dumps", OrTrigger([CronTrigger(hour=1), CronTrigger(hour=2)]), args=[1], id="either")
s.shutdown()
