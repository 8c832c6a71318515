"""Where "random style" draws its codes from: a Gaussian fitted to the style codes of the training photos.

SPADE's VAE asks the encoder's codes to follow N(0, I), but the KL term is weighted low so that the codes
carry a photo's look (configs/spade-landscape.toml), and the codes of real photos then fill a region of
their own rather than N(0, I). Codes drawn from N(0, I) land where no training photo's code was, and paint
looks the generator never learnt. Fitting a Gaussian to the real codes after training (ex-post density
estimation, as in Ghosh et al., "From Variational to Deterministic Autoencoders", ICLR 2020) gives random
styles like some real photo's. The fit, its spread scaled by the config's truncation, goes into the model
card; the server samples `mean + scale @ e` with e ~ N(0, I).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from model_training import runtime as rt
from model_training.config import TrainConfig
from model_training.datasets import training_photos

BATCH = 16


@dataclass(frozen=True)
class CodeDistribution:
    mean: torch.Tensor  # [z_dim]
    scale: torch.Tensor  # [z_dim, z_dim], lower triangular: covariance = scale @ scale.T

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(n, self.mean.numel(), generator=generator)
        return self.mean + noise @ self.scale.T

    def truncated(self, truncation: float) -> CodeDistribution:
        """The same mean, the spread scaled: below 1, fewer extreme looks (0 gives the mean style)."""
        return CodeDistribution(self.mean, truncation * self.scale)


def fit(codes: torch.Tensor) -> CodeDistribution:
    """Mean and Cholesky factor of the codes' covariance [N, z_dim]; a small ridge keeps the factor defined
    when there are fewer codes than dimensions."""
    codes = codes.double()
    mean = codes.mean(0)
    centred = codes - mean
    covariance = centred.T @ centred / max(1, len(codes) - 1)
    ridge = 1e-6 * max(float(covariance.diagonal().mean()), 1e-12)
    scale = torch.linalg.cholesky(covariance + ridge * torch.eye(len(mean), dtype=torch.float64))
    return CodeDistribution(mean.float(), scale.float())


@torch.no_grad()
def training_code_distribution(config: TrainConfig, encoder: nn.Module) -> CodeDistribution:
    """Encode every training photo (whole centre squares, as the painter's style images arrive) and fit.
    The painter samples it at `export.style_truncation`."""
    encoder.eval()
    photos = training_photos(config)
    return fit(torch.cat([encoder(batch["image"])[0] for batch in rt.in_order_batches(photos, BATCH)]))
