"""Backtest reports: plots, the self-contained HTML file and MLflow logging."""
