"""Walk-forward backtest: metrics, baselines, splits, bootstrap and the engine on the shared portfolio simulator."""
