-- Pretrained and trained model checkpoints, so later stages find the weights they start from.
-- One row per (stage, config_hash, build_id): a re-run of the same stage on the same config and feature build
-- replaces its row. Phase 3 reads stage 'pretrain_macro', Phase 4 reads 'pretrain_micro' (see docs/pretraining.md).
CREATE TABLE IF NOT EXISTS model_checkpoints (
    stage          VARCHAR NOT NULL,                  -- 'pretrain_macro' | 'pretrain_micro' | later RL stages
    config_hash    VARCHAR NOT NULL,
    build_id       VARCHAR NOT NULL,                  -- feature build the model was trained on
    path           VARCHAR NOT NULL,                  -- checkpoint file (absolute)
    mlflow_run_id  VARCHAR,                           -- nested stage run holding the metrics and artifacts
    metrics        VARCHAR,                           -- the stage summary as JSON
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (stage, config_hash, build_id)
);
