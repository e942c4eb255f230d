-- Sector returns from each stock's own return (never a pct_change across stacked symbols): equal-weighted mean and
-- market-cap-weighted mean with weights at t-1. _fb_stock_returns (date_index, stock_index, ret, cap_prev) holds
-- only stocks with a return at t and is registered by the builder.
SELECT r.date_index, s.sector_index,
       avg(r.ret) AS equal_weighted,
       sum(r.ret * r.cap_prev) / sum(r.cap_prev) AS cap_weighted,
       count(*)::INTEGER AS n_stocks
FROM _fb_stock_returns r JOIN _fb_stocks s USING (stock_index)
GROUP BY r.date_index, s.sector_index
