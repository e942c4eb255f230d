-- Point-in-time sector sentiment: an observation counts from the first trading date on or after
-- greatest(date, available_at); the sum and count of the observations that become known on each (date, sector).
WITH known AS (
    SELECT st.sector_index, s.value, greatest(s.date, coalesce(s.available_at, s.date)) AS known_at
    FROM sentiment s JOIN (SELECT DISTINCT sector, sector_index FROM _fb_stocks) st USING (sector)
)
SELECT c.date_index, k.sector_index, sum(k.value) AS total, count(*)::INTEGER AS n
FROM known k ASOF JOIN _fb_calendar c ON k.known_at <= c.date
GROUP BY ALL
ORDER BY ALL
