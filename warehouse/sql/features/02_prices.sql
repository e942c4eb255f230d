-- Stock prices on the calendar, addressed by (date_index, stock_index) for scattering into (T, N) matrices.
-- Missing values come back as NaN (not NULL) so they fetch as plain float arrays.
SELECT c.date_index, s.stock_index, p.close,
       coalesce(p.open, 'NaN'::DOUBLE) AS open,
       coalesce(p.adj_close, p.close) AS adj_close,
       coalesce(p.volume, 'NaN'::DOUBLE) AS volume,
       coalesce(p.delivery_pct, 'NaN'::DOUBLE) AS delivery_pct
FROM prices p
JOIN _fb_stocks s USING (symbol)
JOIN _fb_calendar c USING (date)
