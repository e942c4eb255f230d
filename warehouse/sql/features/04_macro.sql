-- Point-in-time macro: a value is known from max(available_at, date + publication lag of its series). Only
-- observations newer than everything known before count; an ASOF join gives each calendar date the latest known
-- value of every series. The lag table _fb_macro_lags (series, lag_days) is registered by the builder.
WITH m AS (
    SELECT m.series, m.date, m.value,
           greatest(m.available_at, m.date + (coalesce(l.lag_days, {default_lag}) * INTERVAL 1 DAY))::DATE AS known_at
    FROM macro m LEFT JOIN _fb_macro_lags l USING (series)
    WHERE m.series IN ({series})
),
ordered AS (
    SELECT *, max(date) OVER (PARTITION BY series ORDER BY known_at, date
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS newest_before
    FROM m
),
kept AS (
    SELECT series, known_at, arg_max(value, date) AS value
    FROM ordered WHERE newest_before IS NULL OR date > newest_before
    GROUP BY series, known_at
),
grid AS (
    SELECT c.date_index, c.date, s.series FROM _fb_calendar c CROSS JOIN (SELECT DISTINCT series FROM kept) s
)
SELECT g.date_index, g.series, k.value
FROM grid g ASOF LEFT JOIN kept k ON g.series = k.series AND g.date >= k.known_at
