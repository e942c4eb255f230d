-- Weekly rebalance: the portfolio's current holdings and the proposals the champion model makes against them
-- (docs/backtest.md, "Rebalance"). Weights are fractions of NAV; the symbol 'cash' (written 'CASH' before December 2026) carries the cash weight, so the
-- weights of one as_of (or one proposal) sum to 1.
CREATE TABLE IF NOT EXISTS holdings (
    as_of          DATE NOT NULL,                     -- holdings valid at this close
    symbol         VARCHAR NOT NULL,                  -- stock symbol, or 'cash'
    weight         DOUBLE NOT NULL,                   -- fraction of NAV
    PRIMARY KEY (as_of, symbol)
);

CREATE TABLE IF NOT EXISTS rebalance_proposals (
    proposal_id    VARCHAR NOT NULL,                  -- hash of (as_of, model version, feature build, holdings)
    as_of          DATE NOT NULL,                     -- decision close (latest date in the warehouse)
    symbol         VARCHAR NOT NULL,                  -- stock symbol, or 'cash'
    target_weight  DOUBLE NOT NULL,
    current_weight DOUBLE NOT NULL,
    order_weight   DOUBLE NOT NULL,                   -- target - current (fraction of NAV to trade)
    order_side     VARCHAR NOT NULL,                  -- 'buy' | 'sell' | 'hold'
    model_version  VARCHAR NOT NULL,                  -- registered model version (models:/hrl-sarp/<version>)
    build_id       VARCHAR,                           -- feature build the decision used
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (proposal_id, symbol)
);
