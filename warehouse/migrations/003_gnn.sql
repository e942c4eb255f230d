-- Sector GNN: weekly sector embeddings and the models that produced them (docs/gnn.md).
-- model_version = hash of (feature build id, gnn + split config, seed); a fit writes both tables in one
-- transaction and replaces any earlier rows of the same version, so a re-run is idempotent.
CREATE TABLE IF NOT EXISTS gnn_models (
    model_version  VARCHAR PRIMARY KEY,
    build_id       VARCHAR NOT NULL,                  -- feature build the model was fitted on
    config_hash    VARCHAR NOT NULL,                  -- hash of the gnn + splits config and seed
    encoder        VARCHAR NOT NULL,                  -- 'gcn' | 'gat'
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    metrics        JSON                               -- held-out rank ICs, link AUC, anchors, seconds
);

CREATE TABLE IF NOT EXISTS sector_embeddings (
    model_version  VARCHAR NOT NULL,
    build_id       VARCHAR NOT NULL,
    week_end       DATE NOT NULL,                     -- last trading date of the week; uses data up to it only
    sector         VARCHAR NOT NULL,
    embedding      DOUBLE[] NOT NULL,                 -- gnn.embedding_dim values
    PRIMARY KEY (model_version, week_end, sector)
);
