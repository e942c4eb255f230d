"""Training loops: supervised pretraining (Phases 1-2) and, later, the RL phases."""
