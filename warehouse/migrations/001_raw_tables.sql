-- Raw, natural-key tables loaded by ingestion. Dates are DATE; point-in-time columns are available_at.
CREATE TABLE IF NOT EXISTS securities (
    symbol       VARCHAR PRIMARY KEY,
    sector       VARCHAR NOT NULL,
    name         VARCHAR,
    kind         VARCHAR NOT NULL DEFAULT 'stock',   -- 'stock' | 'index'
    listed_on    DATE,
    delisted_on  DATE
);

CREATE TABLE IF NOT EXISTS prices (
    symbol       VARCHAR NOT NULL,
    date         DATE NOT NULL,
    open         DOUBLE,
    high         DOUBLE,
    low          DOUBLE,
    close        DOUBLE NOT NULL,
    adj_close    DOUBLE,
    volume       DOUBLE,                              -- NULL when the source has none
    delivery_pct DOUBLE,                              -- share of volume taken to delivery, NULL if unknown
    PRIMARY KEY (symbol, date)
);

CREATE TABLE IF NOT EXISTS macro (
    series       VARCHAR NOT NULL,
    date         DATE NOT NULL,                       -- observation date
    value        DOUBLE NOT NULL,
    available_at DATE NOT NULL,                       -- first date the value is public
    PRIMARY KEY (series, date)
);

CREATE TABLE IF NOT EXISTS fundamentals (
    symbol       VARCHAR NOT NULL,
    period_end   DATE NOT NULL,
    field        VARCHAR NOT NULL,
    value        DOUBLE NOT NULL,
    available_at DATE NOT NULL,                       -- release date (after period_end)
    PRIMARY KEY (symbol, period_end, field)
);

CREATE TABLE IF NOT EXISTS sentiment (
    sector       VARCHAR NOT NULL,
    date         DATE NOT NULL,
    value        DOUBLE NOT NULL,                     -- news sentiment in [-1, 1]
    available_at DATE NOT NULL,
    PRIMARY KEY (sector, date)
);

CREATE TABLE IF NOT EXISTS events (
    date         DATE NOT NULL,
    event        VARCHAR NOT NULL,                    -- e.g. RBI_MPC, BUDGET
    PRIMARY KEY (date, event)
);

CREATE TABLE IF NOT EXISTS ingestion_runs (
    run_id        VARCHAR PRIMARY KEY,
    source        VARCHAR NOT NULL,
    location      VARCHAR,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    status        VARCHAR NOT NULL,                   -- 'running' | 'ok' | 'failed'
    rows_read     BIGINT,
    rows_loaded   BIGINT,
    rows_rejected BIGINT,
    snapshot      VARCHAR
);

CREATE TABLE IF NOT EXISTS quarantine (
    quarantine_id VARCHAR PRIMARY KEY,                -- hash of (source, table, file, row, column, reason, payload)
    run_id        VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    table_name    VARCHAR NOT NULL,
    file          VARCHAR,
    row_number    BIGINT,
    column_name   VARCHAR,
    reason        VARCHAR NOT NULL,
    payload       VARCHAR NOT NULL,                   -- the row as JSON
    quarantined_at TIMESTAMP NOT NULL
);
