-- Feature tables. Every row belongs to one feature build (build_id = config hash + data snapshot hash), written in
-- one transaction. Per-(date, stock) tables use stock_index (see feature_build_stocks) instead of the symbol and
-- carry no index: their key (build_id, date, stock_index) is enforced by the Pandera models in schemas/features.py
-- before writing, which keeps a 500-stock x 10-year build fast to insert. See docs/warehouse.md "Feature tables".
CREATE TABLE IF NOT EXISTS feature_builds (
    build_id             VARCHAR PRIMARY KEY,
    config_hash          VARCHAR NOT NULL,
    snapshot             VARCHAR NOT NULL,
    status               VARCHAR NOT NULL,            -- 'complete' (a build is written in one transaction)
    benchmark            VARCHAR NOT NULL,
    benchmark_source     VARCHAR NOT NULL,            -- 'index' | 'equal_weighted_stocks'
    first_date           DATE NOT NULL,
    last_date            DATE NOT NULL,
    n_dates              INTEGER NOT NULL,
    n_stocks             INTEGER NOT NULL,
    n_sectors            INTEGER NOT NULL,
    stock_feature_names  VARCHAR NOT NULL,            -- comma-separated, in column order
    macro_feature_names  VARCHAR NOT NULL,
    forward_horizon_days INTEGER NOT NULL,
    coverage_path        VARCHAR,
    coverage             VARCHAR NOT NULL,            -- the coverage report as JSON
    seconds              DOUBLE,
    created_at           TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE IF NOT EXISTS feature_build_stocks (
    build_id     VARCHAR NOT NULL,
    stock_index  INTEGER NOT NULL,                    -- column of the (T, N) arrays; stocks sorted by symbol
    symbol       VARCHAR NOT NULL,
    sector       VARCHAR NOT NULL,
    sector_index INTEGER NOT NULL,                    -- sectors sorted by name
    PRIMARY KEY (build_id, stock_index)
);

CREATE TABLE IF NOT EXISTS stock_features (
    build_id                 VARCHAR NOT NULL,
    date                     DATE NOT NULL,
    stock_index              INTEGER NOT NULL,
    return_1d                DOUBLE NOT NULL,
    return_5d                DOUBLE NOT NULL,
    return_20d               DOUBLE NOT NULL,
    volatility_20d           DOUBLE NOT NULL,
    rsi_14                   DOUBLE NOT NULL,
    macd_signal              DOUBLE NOT NULL,
    bb_position              DOUBLE NOT NULL,
    volume_ratio_20d         DOUBLE NOT NULL,
    delivery_pct             DOUBLE NOT NULL,
    pe_zscore                DOUBLE NOT NULL,
    pb_zscore                DOUBLE NOT NULL,
    roe                      DOUBLE NOT NULL,
    roce                     DOUBLE NOT NULL,
    debt_to_equity           DOUBLE NOT NULL,
    ev_ebitda_zscore         DOUBLE NOT NULL,
    earnings_surprise        DOUBLE NOT NULL,
    promoter_pledge_pct      DOUBLE NOT NULL,
    sector_relative_strength DOUBLE NOT NULL,
    market_cap_log           DOUBLE NOT NULL,
    free_float_pct           DOUBLE NOT NULL,
    fii_holding_change       DOUBLE NOT NULL,
    avg_analyst_rating       DOUBLE NOT NULL
);

-- Market panel the environments trade on (not features): prices, realised returns, liquidity and tradability.
CREATE TABLE IF NOT EXISTS stock_panel (
    build_id     VARCHAR NOT NULL,
    date         DATE NOT NULL,
    stock_index  INTEGER NOT NULL,
    close        DOUBLE,                              -- NULL where not listed or not priced
    open         DOUBLE,                              -- close where the source has no open
    stock_return DOUBLE NOT NULL,                     -- adjusted close-to-close return t-1 -> t, 0 where unknown
    adv_value    DOUBLE,                              -- 20-day mean of close * volume; NULL without volume
    tradable     BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS macro_features (
    build_id                VARCHAR NOT NULL,
    date                    DATE NOT NULL,
    india_vix               DOUBLE NOT NULL,
    india_vix_change_1w     DOUBLE NOT NULL,
    fii_flow_norm           DOUBLE NOT NULL,
    dii_flow_norm           DOUBLE NOT NULL,
    pcr_index               DOUBLE NOT NULL,
    usd_inr_momentum        DOUBLE NOT NULL,
    crude_regime            DOUBLE NOT NULL,
    rbi_rate                DOUBLE NOT NULL,
    credit_spread           DOUBLE NOT NULL,
    yield_curve_slope       DOUBLE NOT NULL,
    nifty_return_4w         DOUBLE NOT NULL,
    nifty_volatility_4w     DOUBLE NOT NULL,
    breadth_advance_decline DOUBLE NOT NULL,
    fno_oi_change           DOUBLE NOT NULL,
    event_risk_flag         DOUBLE NOT NULL,
    days_to_next_event      DOUBLE NOT NULL,
    regime_label_prev       DOUBLE NOT NULL,
    PRIMARY KEY (build_id, date)
);

CREATE TABLE IF NOT EXISTS sector_returns (
    build_id       VARCHAR NOT NULL,
    date           DATE NOT NULL,
    sector         VARCHAR NOT NULL,
    equal_weighted DOUBLE NOT NULL,                   -- mean of member stocks' own returns t-1 -> t
    cap_weighted   DOUBLE NOT NULL,                   -- weighted by market cap at t-1
    n_stocks       INTEGER NOT NULL,                  -- members with a return at t
    PRIMARY KEY (build_id, date, sector)
);

CREATE TABLE IF NOT EXISTS benchmark_returns (
    build_id  VARCHAR NOT NULL,
    date      DATE NOT NULL,
    level     DOUBLE,                                 -- index close (NULL before it starts), or the equal-weighted stock index level
    return_1d DOUBLE NOT NULL,
    PRIMARY KEY (build_id, date)
);

-- Labels: realised outcomes, never model inputs.
CREATE TABLE IF NOT EXISTS regime_labels (
    build_id      VARCHAR NOT NULL,
    date          DATE NOT NULL,
    weekly_return DOUBLE NOT NULL,                    -- benchmark return over the trailing 7 calendar days
    regime        VARCHAR NOT NULL,                   -- Bull | Bear | Sideways
    regime_code   INTEGER NOT NULL,                   -- 0 Bull, 1 Bear, 2 Sideways
    week_end      BOOLEAN NOT NULL,                   -- last trading date of its ISO week
    PRIMARY KEY (build_id, date)
);

CREATE TABLE IF NOT EXISTS stock_labels (
    build_id       VARCHAR NOT NULL,
    date           DATE NOT NULL,
    stock_index    INTEGER NOT NULL,
    forward_return DOUBLE                             -- close t -> close t+h; NULL past the end or unlisted
);
