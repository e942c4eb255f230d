"""Phases 3-5: macro PPO, micro TD3 + HER and alternating fine-tuning on top of the pretrained networks.

See docs/rl.md. Modules: ``inputs`` (feature build, embeddings, splits), ``layers`` (frozen agents as the other
layer's environment), ``evaluation`` (validation Sharpe of the whole system), ``curriculum``, ``mlflow_output``
(SB3 logger -> MLflow), ``callbacks``, ``macro_rl`` (Phase 3), ``micro_rl`` (Phase 4), ``joint`` (Phase 5),
``runner`` (one phase end to end, checkpoints and records).
"""
