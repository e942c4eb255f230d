-- Point-in-time fundamentals. A release counts only when it is for a newer period than every release published
-- before it (a late filing of an old quarter never replaces a newer one).
-- An ASOF join places every release on the first trading date on or after its available_at; one row per (date,
-- stock) holds the fields released then (NaN for the others). The builder carries each field forward along the
-- calendar, so the value at date t is the one of the last release with available_at <= t; valuation ratios and
-- their per-date z-scores follow in NumPy.
WITH f AS (
    SELECT f.symbol, f.field, f.period_end, f.available_at, f.value
    FROM fundamentals f JOIN _fb_stocks s USING (symbol)
    WHERE f.field IN ({fields})
),
ordered AS (
    SELECT *, max(period_end) OVER (
        PARTITION BY symbol, field ORDER BY available_at, period_end
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS newest_before
    FROM f
),
kept AS (
    SELECT symbol, field, period_end, available_at, value
    FROM ordered WHERE newest_before IS NULL OR period_end > newest_before
),
derived AS (  -- quarter-on-quarter change of FII holding, as a field released with the newer quarter
    SELECT symbol, 'fii_holding_change' AS field, period_end, available_at,
           value - lag(value) OVER (PARTITION BY symbol ORDER BY period_end) AS value
    FROM kept WHERE field = 'fii_holding_pct'
),
surprise AS (  -- (eps - estimate) / |estimate| of the same period, released with the later of the two
    SELECT a.symbol, 'earnings_surprise' AS field, a.period_end, greatest(a.available_at, e.available_at) AS available_at,
           CASE WHEN e.value <> 0 THEN (a.value - e.value) / abs(e.value) ELSE 0 END AS value
    FROM kept a JOIN kept e ON e.symbol = a.symbol AND e.period_end = a.period_end AND e.field = 'eps_estimate'
    WHERE a.field = 'eps'
),
releases AS (
    SELECT * FROM kept UNION ALL SELECT * FROM derived UNION ALL SELECT * FROM surprise
),
placed AS (  -- each release on the first trading date on or after its available_at
    SELECT c.date_index, r.symbol, r.field, r.period_end, r.value
    FROM releases r ASOF JOIN _fb_calendar c ON r.available_at <= c.date
)
SELECT p.date_index, s.stock_index, {pivot}
FROM placed p JOIN _fb_stocks s USING (symbol)
GROUP BY p.date_index, s.stock_index
