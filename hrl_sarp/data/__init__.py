"""Data sources. Each returns a :class:`hrl_sarp.data.market.RawMarket` plus any rejected rows."""
