"""Point-in-time features: indicators on (dates x symbols) matrices, the DuckDB build, and the array loader."""
