-- Calendars: named lists of holidays and of working days on weekends,
-- which triggers name (trigger.Days). The days are JSON arrays of
-- {"date": "2006-01-02", "name": …} in date order; jobs carry a copy of the
-- dates with the version they were copied from.
CREATE TABLE sundial_calendars (
    name          TEXT PRIMARY KEY,
    description   TEXT NOT NULL DEFAULT '',
    holidays      TEXT NOT NULL DEFAULT '[]',
    working_days  TEXT NOT NULL DEFAULT '[]',
    source        TEXT NOT NULL DEFAULT '',
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
