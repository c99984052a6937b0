"""Torch modules of the multimodal causal VAE and of the beta-VAE baseline.

The generative model (PersonaX Level II):

* latents: one content block ``z_m`` per modality plus shared latents ``s``;
* prior: ``s ~ N(0, I)`` and, for every content latent in a fixed causal order,
  ``z_i = mu_i(parents, s) + sigma_i(s) * e_i`` with ``e ~ N(0, I)``: a
  triangular (autoregressive) normalizing flow from isotropic Gaussian noise
  ``e`` to ``z``. The parent term is ``sum_j A[j, i] * f_ji(z_j)`` with
  ``f_ji(z) = z + tanh(a_ji) * tanh(b_ji * z)``: each adjacency entry
  multiplies its parent's input, so it gets gradients through the mechanism
  (not only through the sparsity penalty), and ``f_ji`` is bounded so that the
  mechanism cannot undo a shrinking ``A`` by growing its own weights;
* observation: every measurement of modality ``m`` has its own decoder of
  ``(z_m, s)``.

Inference: every measurement has its own encoder giving a Gaussian over
``(z_m, s)``; the measurements of one modality (and, for ``s``, all
measurements) are pooled as a product of experts, so each measurement's
learned noise (its posterior variance) sets its weight. A conditional
normalizing flow of affine coupling layers, with a fixed permutation between
coupling layers, makes the joint posterior non-Gaussian.
"""

import math

import torch
from torch import nn

_LOG_2PI = math.log(2 * math.pi)


def _mlp(n_in, n_out, hidden, n_layers):
    layers, width = [], n_in
    for _ in range(n_layers):
        layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class AffineCoupling(nn.Module):
    """Affine coupling layer: dims where ``mask`` is 1 condition the others."""

    def __init__(self, dim, context_dim, hidden, mask):
        super().__init__()
        self.register_buffer("mask", mask.float())
        self.net = _mlp(dim + context_dim, 2 * dim, hidden, 1)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, u, context):
        kept = u * self.mask
        log_s, shift = self.net(torch.cat([kept, context], dim=1)).chunk(2, dim=1)
        free = 1 - self.mask
        log_s = torch.tanh(log_s) * free
        out = kept + free * (u * torch.exp(log_s) + shift)
        return out, log_s.sum(dim=1)


class ConditionalFlow(nn.Module):
    """Affine coupling layers with a fixed permutation between consecutive layers."""

    def __init__(self, dim, context_dim, hidden, n_layers):
        super().__init__()
        half = torch.arange(dim) < dim // 2
        self.layers = nn.ModuleList(
            AffineCoupling(dim, context_dim, hidden, half if k % 2 == 0 else ~half)
            for k in range(n_layers)
        )
        generator = torch.Generator().manual_seed(dim)
        perms = [torch.arange(dim)]
        perms += [torch.randperm(dim, generator=generator) for _ in range(1, n_layers)]
        total = torch.arange(dim)
        for k, perm in enumerate(perms):
            self.register_buffer(f"perm_{k}", perm)
            total = total[perm]
        self.register_buffer("unperm", torch.argsort(total))

    def forward(self, u, context):
        logdet = u.new_zeros(u.shape[0])
        for k, layer in enumerate(self.layers):
            u = u[:, getattr(self, f"perm_{k}")]
            u, ld = layer(u, context)
            logdet = logdet + ld
        if self.layers:
            u = u[:, self.unperm]
        return u, logdet


class CausalPrior(nn.Module):
    """Learnable additive-noise SCM over content latents, a triangular flow from N(0, I).

    Parameters
    ----------
    n_latents, n_shared : int
        Number of content and shared latents.
    allowed : tensor of shape (n_latents, n_latents)
        Non-negative weights, 0 for a forbidden edge ``j -> i`` (rows parents),
        strictly upper triangular in the causal order; the L1 penalty of an
        allowed edge is divided by its weight (above 1 favours the edge).
    hidden : int
        Width of the network mapping ``s`` to each latent's offset and scale.
    """

    def __init__(self, n_latents, n_shared, allowed, hidden):
        super().__init__()
        allowed = torch.as_tensor(allowed, dtype=torch.float32)
        if torch.any(torch.triu(allowed, diagonal=1) != allowed):
            raise ValueError("The allowed adjacency must be strictly upper triangular (a DAG).")
        self.register_buffer("mask", (allowed > 0).float())
        self.register_buffer(
            "penalty", torch.where(allowed > 0, 1 / allowed.clamp(min=1e-12), torch.zeros(()))
        )
        self.weight = nn.Parameter(torch.zeros(n_latents, n_latents))
        self.bend_gain = nn.Parameter(torch.zeros(n_latents, n_latents))
        self.bend_slope = nn.Parameter(torch.ones(n_latents, n_latents))
        self.bias = nn.Parameter(torch.zeros(n_latents))
        self.log_scale = nn.Parameter(torch.zeros(n_latents))
        self.n_shared = n_shared
        self.shared_net = _mlp(n_shared, 2 * n_latents, hidden, 1) if n_shared else None

    def adjacency(self):
        return self.weight * self.mask

    def sparsity(self):
        return (self.penalty * self.adjacency().abs()).sum()

    def noise(self, z, s):
        """Return the exogenous noise ``e`` of ``z`` and ``log |de/dz|``."""
        inputs = z[:, :, None]
        effect = inputs + torch.tanh(self.bend_gain) * torch.tanh(self.bend_slope * inputs)
        loc = (self.adjacency()[None] * effect).sum(dim=1) + self.bias
        log_scale = self.log_scale.expand_as(z)
        if self.shared_net is not None:
            shift, scale = self.shared_net(s).chunk(2, dim=1)
            loc = loc + shift
            log_scale = log_scale + torch.tanh(scale)
        return (z - loc) * torch.exp(-log_scale), -log_scale.sum(dim=1)

    def log_prob(self, z, s):
        e, logdet = self.noise(z, s)
        log_p = -0.5 * (e.pow(2) + _LOG_2PI).sum(dim=1) + logdet
        if self.n_shared:
            log_p = log_p - 0.5 * (s.pow(2) + _LOG_2PI).sum(dim=1)
        return log_p


class MultimodalVAE(nn.Module):
    """Per-measurement encoders and decoders around a causal (or isotropic) latent prior.

    Parameters
    ----------
    measurement_columns : list of list of int
        Input columns of each measurement.
    measurement_modality : list of int
        Modality index of each measurement.
    latent_dims : list of int
        Content latents of each modality.
    n_shared : int
        Shared latents.
    allowed : tensor or None
        Allowed adjacency among content latents (see :class:`CausalPrior`);
        None uses an isotropic Gaussian prior (the beta-VAE).
    hidden, n_layers : int
        Width and depth of encoders and decoders.
    n_flow_layers : int
        Coupling layers of the posterior flow (0 for a Gaussian posterior).
    """

    def __init__(
        self,
        measurement_columns,
        measurement_modality,
        latent_dims,
        n_shared,
        allowed=None,
        hidden=64,
        n_layers=2,
        n_flow_layers=2,
    ):
        super().__init__()
        self.latent_dims = list(latent_dims)
        self.n_shared = int(n_shared)
        self.n_latents = sum(self.latent_dims)
        self.measurement_modality = list(measurement_modality)
        offsets = [0]
        for d in self.latent_dims:
            offsets.append(offsets[-1] + d)
        self.offsets = offsets
        for k, cols in enumerate(measurement_columns):
            self.register_buffer(f"cols_{k}", torch.as_tensor(cols, dtype=torch.long))
        self.n_measurements = len(measurement_columns)
        self.encoders = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for cols, m in zip(measurement_columns, self.measurement_modality):
            width = self.latent_dims[m] + self.n_shared
            self.encoders.append(_mlp(len(cols), 2 * width, hidden, n_layers))
            self.decoders.append(_mlp(width, len(cols), hidden, n_layers))
        dim = self.n_latents + self.n_shared
        self.flow = ConditionalFlow(dim, dim, hidden, n_flow_layers) if n_flow_layers else None
        self.prior = (
            None if allowed is None else CausalPrior(self.n_latents, self.n_shared, allowed, hidden)
        )

    def _measurement(self, X, k):
        return X[:, getattr(self, f"cols_{k}")]

    def encode(self, X):
        """Pool the measurements' Gaussians: return base mean and log-variance of (z, s)."""
        n = X.shape[0]
        dim = self.n_latents + self.n_shared
        precision = X.new_zeros(n, dim)
        weighted = X.new_zeros(n, dim)
        for k, encoder in enumerate(self.encoders):
            m = self.measurement_modality[k]
            mu, logvar = encoder(self._measurement(X, k)).chunk(2, dim=1)
            logvar = logvar.clamp(-12.0, 8.0)
            idx = list(range(self.offsets[m], self.offsets[m + 1]))
            idx += list(range(self.n_latents, dim))
            prec = torch.exp(-logvar)
            precision[:, idx] = precision[:, idx] + prec
            weighted[:, idx] = weighted[:, idx] + prec * mu
        return weighted / precision, -torch.log(precision)

    def posterior(self, mu, logvar, sample):
        u = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample else mu
        if self.flow is None:
            return u, u.new_zeros(u.shape[0])
        return self.flow(u, mu)

    def decode(self, latent):
        z, s = latent[:, : self.n_latents], latent[:, self.n_latents :]
        outputs = []
        for k, decoder in enumerate(self.decoders):
            m = self.measurement_modality[k]
            outputs.append(decoder(torch.cat([z[:, self.offsets[m] : self.offsets[m + 1]], s], 1)))
        return outputs

    def embed(self, X):
        """Posterior mean of the latents (the base mean pushed through the flow)."""
        mu, logvar = self.encode(X)
        return self.posterior(mu, logvar, sample=False)[0]

    def forward(self, X):
        mu, logvar = self.encode(X)
        latent, logdet = self.posterior(mu, logvar, sample=True)
        recon = torch.stack(
            [
                (out - self._measurement(X, k)).pow(2).mean()
                for k, out in enumerate(self.decode(latent))
            ]
        ).mean()
        # Entropy of the Gaussian base, exact; the flow's log-det adds to it.
        entropy = 0.5 * (logvar + 1 + _LOG_2PI).sum(dim=1) + logdet
        if self.prior is None:
            if self.flow is None:  # closed form KL(N(mu, var) || N(0, I))
                kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(dim=1)
            else:
                kl = -entropy + 0.5 * (latent.pow(2) + _LOG_2PI).sum(dim=1)
            sparsity = recon.new_zeros(())
        else:
            z, s = latent[:, : self.n_latents], latent[:, self.n_latents :]
            kl = -entropy - self.prior.log_prob(z, s)
            sparsity = self.prior.sparsity()
        return {"recon": recon, "kl": kl.mean(), "sparsity": sparsity}
