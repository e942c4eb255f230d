-- An index row (kind = 'index', e.g. the benchmark) needs no sector: securities.sector becomes nullable.
-- schemas/raw.py keeps the rule that every stock has one.
ALTER TABLE securities ALTER COLUMN sector DROP NOT NULL;
