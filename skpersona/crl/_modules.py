"""Torch modules of the multimodal causal VAE and of the beta-VAE baseline.

The generative model (PersonaX Level II):

* latents: one content block ``z_m`` per modality plus shared latents ``s``;
  the prior is a structural causal model over *all* of them (content and
  shared), with a learned adjacency ``A`` (rows parents) kept acyclic by the
  NOTEARS constraint ``h(A) = tr(exp(A * A)) - d`` rather than by a fixed order;
* scale: before a latent enters any mechanism it is standardised,
  ``u_j = (z_j - mean_j) / std_j`` (batch statistics while training, running
  statistics afterwards), and the SCM is written on ``u``:
  ``u_i = sum_j (L[j, i] * u_j + B[j, i] * tanh(C[j, i] * u_j)) + b_i + sigma_i * e_i``
  with independent noises ``e_i``, each a learned mixture of Gaussians (so it
  can be skewed, heavy- or light-tailed or multimodal); the strength of edge ``j -> i`` is the group norm
  ``A[j, i] = ||(L[j, i], B[j, i])||``, on which the L1 (group-lasso) penalty and
  the acyclicity constraint act. Rescaling a latent changes neither ``u`` nor
  ``A``, so the penalty (in units of standard deviations) cannot be dodged by a
  change of scale; the Jacobian of the standardisation enters ``log p(z)`` so
  the density stays exact;
* observation: every measurement of modality ``m`` has its own decoder of
  ``(z_m, s)`` (an MLP, or convolutional for an image) and a learned Gaussian
  noise level per feature.

Inference: every measurement has its own encoder giving a Gaussian over
``(z_m, s)``; the measurements of one modality (and, for ``s``, all
measurements) are pooled as a product of experts, so each measurement's
learned noise (its posterior variance) sets its weight. A conditional
normalizing flow of affine coupling layers, with a fixed permutation between
coupling layers, can make the joint posterior non-Gaussian.

The objective is the negative ELBO per sample (sums over features and over
latents, averaged over samples): reconstruction negative log-likelihood plus
``KL(q(z, s | x) || p(z, s))``.
"""

import math

import numpy as np
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


def _image_layout(shape, hidden):
    """Channels of the two convolutions of the image encoder and decoder, and the
    ``(channels, height, width)`` of the half-resolution map between them."""
    height, width, _ = shape
    c1, c2 = max(hidden // 2, 4), max(hidden, 4)
    return c1, c2, (c2, (height + 1) // 2, (width + 1) // 2)


class ImageEncoder(nn.Module):
    """Two convolutions (the second with stride 2) and an MLP head over a flattened image.

    The input columns are the pixels of one ``(height, width, channels)``
    image in row-major order (``images.reshape(n, -1)``); the convolutions
    share their weights across positions, where an MLP learns every pixel's.
    """

    def __init__(self, shape, n_out, hidden):
        super().__init__()
        self.shape = tuple(int(v) for v in shape)
        channels = self.shape[2]
        c1, c2, grid = _image_layout(self.shape, hidden)
        self.conv = nn.Sequential(
            nn.Conv2d(channels, c1, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(int(np.prod(grid)), hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, n_out)
        )

    def forward(self, x):
        image = x.reshape(x.shape[0], *self.shape).permute(0, 3, 1, 2)
        return self.head(self.conv(image))


class ImageDecoder(nn.Module):
    """MLP to a half-resolution feature map, upsampled and refined by two convolutions."""

    def __init__(self, n_in, shape, hidden):
        super().__init__()
        self.shape = tuple(int(v) for v in shape)
        height, width, channels = self.shape
        c1, c2, self.grid = _image_layout(self.shape, hidden)
        self.head = nn.Sequential(
            nn.Linear(n_in, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, int(np.prod(self.grid))),
            nn.LeakyReLU(0.2),
        )
        self.conv = nn.Sequential(
            nn.Upsample(size=(height, width), mode="nearest"),
            nn.Conv2d(c2, c1, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(c1, channels, 3, padding=1),
        )

    def forward(self, latent):
        grid = self.head(latent).reshape(latent.shape[0], *self.grid)
        return self.conv(grid).permute(0, 2, 3, 1).reshape(latent.shape[0], -1)


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


def acyclicity(adjacency):
    """NOTEARS ``h(A) = tr(exp(A * A)) - d``: zero exactly when ``A`` is a DAG."""
    return torch.trace(torch.matrix_exp(adjacency * adjacency)) - adjacency.shape[0]


# Below this determinant of (I - d loc/du) the log-determinant is replaced by a
# penalty (at or below 0 the SCM's map is not invertible); _PENALTY_SCALE bounds
# its growth to logarithmic, so a strongly negative determinant cannot overflow it.
_MIN_DET = 1e-3
_PENALTY_SCALE = 100.0


def _has_cycle(pattern):
    """Whether the 0/1 adjacency ``pattern`` (rows parents) has a cycle (a walk back to its start)."""
    reach = np.asarray(pattern, dtype=bool).astype(np.int64)
    power = reach
    for _ in range(reach.shape[0]):  # a cycle has length at most d
        if power.diagonal().any():
            return True
        power = ((power @ reach) > 0).astype(np.int64)
    return False


def _log_det_or_penalty(matrix):
    """``log det`` of each matrix where it exceeds ``_MIN_DET``, else a penalty (see ``noise``).

    The penalty ``log(c) - K log(1 + (c - det) / (c K))`` (``c = _MIN_DET``,
    ``K = _PENALTY_SCALE``) meets ``log det`` at ``c`` with the same slope and
    keeps falling, logarithmically, as the determinant goes negative; it is
    computed from ``slogdet`` in log space, so no determinant overflows.
    """
    sign, log_abs = torch.linalg.slogdet(matrix)
    c, k = _MIN_DET, _PENALTY_SCALE
    floor = math.log(c)
    small = torch.exp(log_abs.clamp(max=floor))  # 0 < det < c: clamped where unused
    gap = torch.where(
        sign > 0,
        torch.log(c * (k + 1) - small),
        torch.logaddexp(torch.full_like(log_abs, math.log(c * (k + 1))), log_abs),
    )  # log(c (K + 1) - det)
    penalty = floor - k * (gap - math.log(c * k))
    return torch.where((sign > 0) & (log_abs > floor), log_abs, penalty)


class CausalPrior(nn.Module):
    """Learnable additive-noise SCM over standardised latents with a learned DAG.

    Parameters
    ----------
    n_latents : int
        Number of latents the SCM covers (content and shared).
    allowed : tensor of shape (n_latents, n_latents)
        Non-negative weights, 0 for a forbidden edge ``j -> i`` (rows parents);
        the L1 penalty of an allowed edge is divided by its weight (above 1
        favours the edge). The diagonal is always forbidden.
    momentum : float
        Update rate of the running statistics used outside training.
    n_components : int
        Gaussian components of each noise's mixture.
    """

    def __init__(self, n_latents, allowed, momentum=0.05, n_components=4):
        super().__init__()
        # checked on the CPU values, so that the module can also be described on the
        # "meta" device (loading checks a stored network's size that way)
        values = np.asarray(torch.as_tensor(allowed, device="cpu"), dtype=float)
        if np.any(values < 0):
            raise ValueError("The allowed adjacency must be non-negative.")
        # fixed with the mask (recomputed if a state dict replaces it), not per pass
        self.has_cycle = _has_cycle((values > 0) & ~np.eye(len(values), dtype=bool))
        allowed = torch.as_tensor(allowed, dtype=torch.float32).clone()
        allowed.fill_diagonal_(0.0)
        self.register_buffer("mask", (allowed > 0).float())
        self.register_buffer(
            "penalty", torch.where(allowed > 0, 1 / allowed.clamp(min=1e-12), torch.zeros(()))
        )
        self.register_buffer("running_mean", torch.zeros(n_latents))
        self.register_buffer("running_var", torch.ones(n_latents))
        self.momentum = momentum
        # Edge j -> i: A[j, i] * u_j + B[j, i] * tanh(C[j, i] * u_j); its strength is the
        # group norm of (A, B), and the tanh is bounded, so no parameter can grow to
        # make up for a shrinking strength.
        self.linear = nn.Parameter(torch.zeros(n_latents, n_latents))
        self.bend = nn.Parameter(torch.zeros(n_latents, n_latents))
        self.bend_slope = nn.Parameter(torch.ones(n_latents, n_latents))
        self.bias = nn.Parameter(torch.zeros(n_latents))
        self.log_scale = nn.Parameter(torch.zeros(n_latents))
        # Each noise is a mixture of Gaussians: a noise model that can be non-Gaussian
        # (heavy or light tails, several modes) is what lets the likelihood tell
        # independent noises from rotated ones; a Gaussian-like family would favour
        # the mixtures, which look more Gaussian.
        self.noise_logits = nn.Parameter(torch.zeros(n_latents, n_components))
        self.noise_means = nn.Parameter(
            torch.linspace(-1.0, 1.0, n_components).repeat(n_latents, 1)
        )
        self.noise_log_scales = nn.Parameter(torch.full((n_latents, n_components), -0.5))

    def adjacency(self):
        """Edge strengths (group norms), zero where an edge is forbidden."""
        return torch.sqrt(self.linear.pow(2) + self.bend.pow(2) + 1e-20) * self.mask

    def sparsity(self):
        return (self.penalty * self.adjacency()).sum()

    def acyclicity(self):
        return acyclicity(self.adjacency())

    def standardise(self, z):
        """``(z - mean) / std`` and ``log |du/dz|`` per sample."""
        if self.training and z.shape[0] > 1:
            mean, var = z.mean(dim=0), z.var(dim=0, unbiased=False)
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(var.detach(), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        log_std = 0.5 * torch.log(var + 1e-8)
        return (z - mean) * torch.exp(-log_std), -log_std.sum().expand(z.shape[0])

    def noise(self, u):
        """Exogenous noise ``e`` of the standardised latents ``u`` and ``log |de/du|``.

        ``de/du = diag(1 / sigma) (I - d loc/du)``. On a DAG ``d loc/du`` is
        nilpotent and its determinant term is 0; the soft adjacency of a
        first-stage fit has cycles, though (acyclicity is only a penalty), so
        ``log det(I - d loc/du)`` is computed exactly, per sample, whenever the
        allowed edges contain a cycle: without it a cyclic model's likelihood is
        not a density and its ELBO is overstated.

        Where that determinant is not positive (a feedback loop of gain 1 or
        more, e.g. ``w_12 * w_21 >= 1`` on a 2-cycle) the map ``u -> e`` is not
        invertible and no density exists there. Such a sample gets a penalty
        instead of ``log |det|`` (which would reward the loop): below
        ``_MIN_DET`` the logarithm is continued by a curve with the same slope
        there, finite and increasing in the determinant (about -350 nats at a
        determinant of -3), so training is pushed back to invertible maps and a
        non-invertible model never scores well.
        """
        inputs = u[:, :, None]
        slope_u = torch.tanh(self.bend_slope * inputs)
        effect = self.linear * inputs + self.bend * slope_u
        loc = (self.mask[None] * effect).sum(dim=1) + self.bias
        e = (u - loc) * torch.exp(-self.log_scale)
        logdet = -self.log_scale.sum().expand(u.shape[0])
        if self.has_cycle:
            # d loc_i / d u_j, stored transposed (rows parents): det(I - W) = det(I - W^T)
            slopes = self.linear + self.bend * self.bend_slope * (1 - slope_u.pow(2))
            eye = torch.eye(u.shape[1], dtype=u.dtype, device=u.device)
            logdet = logdet + _log_det_or_penalty(eye - self.mask[None] * slopes)
        return e, logdet

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self.has_cycle = _has_cycle(self.mask.detach().to("cpu").numpy() > 0)

    def noise_log_prob(self, e):
        """Log-density of the exogenous noise (a Gaussian mixture each), summed over latents."""
        log_scales = self.noise_log_scales.clamp(-4.0, 2.0)
        z = (e[:, :, None] - self.noise_means) * torch.exp(-log_scales)
        log_comp = -0.5 * (z.pow(2) + _LOG_2PI) - log_scales
        log_weights = torch.log_softmax(self.noise_logits, dim=1)
        return torch.logsumexp(log_weights + log_comp, dim=2).sum(dim=1)

    def log_prob(self, z):
        u, logdet_u = self.standardise(z)
        e, logdet_e = self.noise(u)
        return self.noise_log_prob(e) + logdet_e + logdet_u


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
        Allowed adjacency among all latents, content then shared (see
        :class:`CausalPrior`); None uses an isotropic Gaussian prior (the beta-VAE).
    hidden, n_layers : int
        Width and depth of encoders and decoders.
    n_flow_layers : int
        Coupling layers of the posterior flow (0 for a Gaussian posterior).
    image_shapes : list of (tuple or None) or None
        Per measurement, ``(height, width, channels)`` when its columns are the
        pixels of an image (convolutional encoder and decoder), None for an
        MLP over the columns.
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
        image_shapes=None,
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
        self.log_noise = nn.ParameterList()
        shapes = image_shapes or [None] * len(measurement_columns)
        for cols, m, shape in zip(measurement_columns, self.measurement_modality, shapes):
            width = self.latent_dims[m] + self.n_shared
            if shape is None:
                self.encoders.append(_mlp(len(cols), 2 * width, hidden, n_layers))
                self.decoders.append(_mlp(width, len(cols), hidden, n_layers))
            else:
                self.encoders.append(ImageEncoder(shape, 2 * width, hidden))
                self.decoders.append(ImageDecoder(width, shape, hidden))
            self.log_noise.append(nn.Parameter(torch.full((len(cols),), -1.0)))
        dim = self.n_latents + self.n_shared
        self.flow = ConditionalFlow(dim, dim, hidden, n_flow_layers) if n_flow_layers else None
        self.prior = None if allowed is None else CausalPrior(dim, allowed)
        # A fixed invertible linear map from the posterior's to the prior's (reported)
        # coordinates: the identity, unless MultimodalCRL aligned the blocks after a fit.
        self.register_buffer("align_weight", torch.eye(dim))
        self.register_buffer("align_bias", torch.zeros(dim))
        # 0 hides the content latents from the decoders (a warm-up in which the shared
        # latents alone explain the observations); not state: 1 outside training.
        self.content_gate = 1.0

    def _measurement(self, X, k):
        return X[:, getattr(self, f"cols_{k}")]

    def _latent_index(self, m):
        dim = self.n_latents + self.n_shared
        return list(range(self.offsets[m], self.offsets[m + 1])) + list(range(self.n_latents, dim))

    def encode(self, X):
        """Pool the measurements' Gaussians: return base mean and log-variance of (z, s)."""
        n = X.shape[0]
        dim = self.n_latents + self.n_shared
        precision = X.new_zeros(n, dim)
        weighted = X.new_zeros(n, dim)
        for k, encoder in enumerate(self.encoders):
            mu, logvar = encoder(self._measurement(X, k)).chunk(2, dim=1)
            logvar = logvar.clamp(-12.0, 8.0)
            idx = self._latent_index(self.measurement_modality[k])
            prec = torch.exp(-logvar)
            precision[:, idx] = precision[:, idx] + prec
            weighted[:, idx] = weighted[:, idx] + prec * mu
        return weighted / precision, -torch.log(precision)

    def posterior(self, mu, logvar, sample):
        """A posterior draw (``sample`` True, or the standard-normal draw itself) or,
        ``sample`` False, the base mean; pushed through the flow, with its log-det."""
        if isinstance(sample, torch.Tensor):
            u = mu + torch.exp(0.5 * logvar) * sample
        else:
            u = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample else mu
        if self.flow is None:
            return u, u.new_zeros(u.shape[0])
        return self.flow(u, mu)

    def decode(self, latent):
        if self.content_gate != 1.0:
            gate = latent.new_ones(latent.shape[1])
            gate[: self.n_latents] = self.content_gate
            latent = latent * gate
        return [
            decoder(latent[:, self._latent_index(self.measurement_modality[k])])
            for k, decoder in enumerate(self.decoders)
        ]

    def align(self, latent):
        """The latents in the prior's coordinates (``latent @ align_weight.T + align_bias``)."""
        return latent @ self.align_weight.T + self.align_bias

    def embed(self, X):
        """Posterior mean of the latents (the base mean pushed through the flow), aligned."""
        mu, logvar = self.encode(X)
        return self.align(self.posterior(mu, logvar, sample=False)[0])

    def _recon(self, X, latent):
        """Gaussian negative log-likelihood per sample, summed over features and measurements."""
        recon = 0.0
        for k, out in enumerate(self.decode(latent)):
            log_noise = self.log_noise[k].clamp(-7.0, 3.0)
            err = (out - self._measurement(X, k)) * torch.exp(-log_noise)
            recon = recon + (0.5 * (err.pow(2) + _LOG_2PI) + log_noise).sum(dim=1)
        return recon

    def log_weight(self, X):
        """``log p(x, z) - log q(z | x)`` per sample, at one posterior draw ``z``.

        Its expectation is the ELBO; ``log mean_k exp`` over ``K`` draws is the
        importance-weighted bound, tighter as ``K`` grows.
        """
        mu, logvar = self.encode(X)
        eps = torch.randn_like(mu)
        latent, logdet = self.posterior(mu, logvar, sample=eps)
        log_q = -0.5 * (eps.pow(2) + logvar + _LOG_2PI).sum(dim=1) - logdet
        if self.prior is None:
            log_p = -0.5 * (latent.pow(2) + _LOG_2PI).sum(dim=1)
        else:
            log_q = log_q - torch.linalg.slogdet(self.align_weight)[1]
            log_p = self.prior.log_prob(self.align(latent))
        return log_p - log_q - self._recon(X, latent)

    def forward(self, X):
        mu, logvar = self.encode(X)
        latent, logdet = self.posterior(mu, logvar, sample=True)
        recon = self._recon(X, latent)
        # Entropy of the Gaussian base, exact; the flow's log-det adds to it.
        entropy = 0.5 * (logvar + 1 + _LOG_2PI).sum(dim=1) + logdet
        zero = X.new_zeros(())
        if self.prior is None:
            if self.flow is None:  # closed form KL(N(mu, var) || N(0, I))
                kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(dim=1)
            else:
                kl = -entropy + 0.5 * (latent.pow(2) + _LOG_2PI).sum(dim=1)
            sparsity = acyclic = zero
        else:
            # the alignment is linear: its log-determinant moves the entropy, exactly
            entropy = entropy + torch.linalg.slogdet(self.align_weight)[1]
            kl = -entropy - self.prior.log_prob(self.align(latent))
            sparsity = self.prior.sparsity()
            acyclic = self.prior.acyclicity()
        return {"recon": recon.mean(), "kl": kl.mean(), "sparsity": sparsity, "acyclicity": acyclic}
