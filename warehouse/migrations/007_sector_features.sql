-- Per (date, sector) inputs of the macro agent that are not returns: the sector's news sentiment, point in time.
CREATE TABLE IF NOT EXISTS sector_features (
    build_id     VARCHAR NOT NULL,
    date         DATE NOT NULL,
    sector       VARCHAR NOT NULL,
    sentiment_1w DOUBLE NOT NULL,                     -- mean sentiment known over the last 5 sessions; 0 if none
    PRIMARY KEY (build_id, date, sector)
);
