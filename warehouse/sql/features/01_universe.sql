-- Stocks (securities.kind = 'stock' with at least one price in range, sorted by symbol), sectors sorted by name,
-- and the trading calendar: every date on which some stock has a price, within [{start}, {end}].
CREATE OR REPLACE TEMP TABLE _fb_calendar AS
SELECT (row_number() OVER (ORDER BY date) - 1)::INTEGER AS date_index, date
FROM (
    SELECT DISTINCT p.date
    FROM prices p JOIN securities s ON s.symbol = p.symbol AND s.kind = 'stock'
    WHERE p.date BETWEEN {start} AND {end}
);

CREATE OR REPLACE TEMP TABLE _fb_stocks AS
SELECT (row_number() OVER (ORDER BY symbol) - 1)::INTEGER AS stock_index,
       symbol,
       sector,
       (dense_rank() OVER (ORDER BY sector) - 1)::INTEGER AS sector_index,
       listed_on,
       delisted_on
FROM securities s
WHERE kind = 'stock'
  AND EXISTS (SELECT 1 FROM prices p WHERE p.symbol = s.symbol AND p.date BETWEEN {start} AND {end});
