"""The sector encoder (GCN or GAT, two layers) with its ranking head and inner-product link decoder.

Each layer is ``conv(x, graph) + root(x)``: with sectors that all co-move, the correlation graph is nearly
complete and a plain GCN would average every sector into the same vector; the root (self) term keeps each
sector's own signal, as in GraphSAGE. GCN takes the non-negative ``|rho|`` weights as ``edge_weight``; GAT takes
them as a one-dimensional ``edge_attr`` (``edge_dim=1``), since GATConv ignores scalar weights otherwise.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GATConv, GCNConv


class SectorEncoder(nn.Module):
    """x: (N, F) node features of a batch of weekly graphs -> (N, D) embeddings."""

    def __init__(
        self, in_dim: int, hidden_dim: int, embedding_dim: int, encoder: str = "gcn", dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.encoder = encoder
        if encoder == "gcn":
            self.conv1 = GCNConv(in_dim, hidden_dim)
            self.conv2 = GCNConv(hidden_dim, embedding_dim)
        elif encoder == "gat":
            self.conv1 = GATConv(in_dim, hidden_dim, heads=1, edge_dim=1)
            self.conv2 = GATConv(hidden_dim, embedding_dim, heads=1, edge_dim=1)
        else:
            raise ValueError(f"unknown encoder '{encoder}' (gcn | gat)")
        self.root1 = nn.Linear(in_dim, hidden_dim, bias=False)
        self.root2 = nn.Linear(hidden_dim, embedding_dim, bias=False)
        self.skip = nn.Linear(in_dim, embedding_dim, bias=False)
        self.dropout = nn.Dropout(dropout)

    def _conv(self, conv: nn.Module, x: torch.Tensor, edge_index: torch.Tensor, weight: torch.Tensor):
        if self.encoder == "gcn":
            return conv(x, edge_index, edge_weight=weight)
        return conv(x, edge_index, edge_attr=weight[:, None])

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self._conv(self.conv1, x, edge_index, edge_weight) + self.root1(x))
        h = self.dropout(h)
        return self._conv(self.conv2, h, edge_index, edge_weight) + self.root2(h) + self.skip(x)


class SectorGnn(nn.Module):
    """Encoder plus a linear next-week ranking head; the link decoder is the inner product of embeddings."""

    def __init__(
        self, in_dim: int, hidden_dim: int, embedding_dim: int, encoder: str = "gcn", dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.encoder = SectorEncoder(in_dim, hidden_dim, embedding_dim, encoder, dropout)
        self.rank_head = nn.Linear(embedding_dim, 1)
        self.embedding_dim = embedding_dim

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.encoder(batch.x, batch.edge_index, batch.edge_weight)

    def score(self, z: torch.Tensor) -> torch.Tensor:
        """(N, D) embeddings -> (N,) next-week ranking scores."""
        return self.rank_head(z).squeeze(-1)

    def link_logits(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Inner-product decoder scaled by 1/sqrt(D). pairs: (2, P) node indices -> (P,) logits."""
        return (z[pairs[0]] * z[pairs[1]]).sum(-1) / np.sqrt(self.embedding_dim)


def graphs_to_batch(node_features: np.ndarray, adjacency: np.ndarray) -> Batch:
    """One PyG Batch of weekly graphs. node_features: (B, S, F); adjacency: (B, S, S) non-negative weights."""
    data = []
    for x, adj in zip(node_features, adjacency, strict=True):
        src, dst = np.nonzero(adj)
        data.append(
            Data(
                x=torch.as_tensor(x, dtype=torch.float32),
                edge_index=torch.as_tensor(np.stack([src, dst]), dtype=torch.long),
                edge_weight=torch.as_tensor(adj[src, dst], dtype=torch.float32),
            )
        )
    return Batch.from_data_list(data)


def all_pairs(n_graphs: int, n_nodes: int) -> torch.Tensor:
    """(2, B*P) node indices (in batch numbering) of every unordered pair i<j in each of ``n_graphs`` graphs."""
    i, j = np.triu_indices(n_nodes, k=1)
    offsets = (np.arange(n_graphs) * n_nodes)[:, None]
    return torch.as_tensor(np.stack([(offsets + i).ravel(), (offsets + j).ravel()]), dtype=torch.long)


def listnet_loss(scores: torch.Tensor, targets: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Listwise (ListNet) ranking loss per week, averaged.

    scores, targets: (B, S). Targets are cross-sectional standardised ranks of next-week returns; the loss is the
    cross-entropy between softmax(targets / temperature) and softmax(scores).
    """
    target_dist = torch.softmax(targets / temperature, dim=1)
    return -(target_dist * torch.log_softmax(scores, dim=1)).sum(dim=1).mean()


def standardised_ranks(values: np.ndarray) -> np.ndarray:
    """(B, S) cross-sectional ranks mapped to zero mean, unit variance per row (ties averaged)."""
    from scipy.stats import rankdata

    ranks = rankdata(values, axis=1)
    ranks = ranks - ranks.mean(axis=1, keepdims=True)
    std = ranks.std(axis=1, keepdims=True)
    return ranks / np.where(std > 0, std, 1.0)
