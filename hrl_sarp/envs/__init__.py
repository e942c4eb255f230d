"""Portfolio simulator, costs, risk rules, rewards and the Gymnasium environments (docs/environments.md)."""
