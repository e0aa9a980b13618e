"""The AutoAugment policy controller: a one-layer LSTM emitting a sequence of softmax decisions.

Cubuk et al. (2019), Sec. 3 ("Search algorithm details"): the controller is a one-layer LSTM
with 100 hidden units and 2 x 5B softmax predictions; following Zoph et al. (2018, Sec. 2), each
prediction is made by its own softmax classifier and is fed back, as an embedding, as the input
of the next step. All weights are initialised uniformly in [-0.1, 0.1] (Zoph & Le, 2017,
Sec. 4.1), here from an injected :class:`torch.Generator`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import torch
from torch import nn
from torch.nn.utils import skip_init

from optnas._errors import ConfigError

__all__ = ["INIT_RANGE", "PolicyController"]

#: Half-width of the uniform weight initialisation (Zoph & Le, 2017, Sec. 4.1).
INIT_RANGE = 0.1


_M = TypeVar("_M", bound=nn.Module)


def _uninitialized(module_cls: type[_M], *args: int) -> _M:
    """Build a module without running its default initialiser (which uses the global RNG)."""
    return skip_init(module_cls, *args)  # type: ignore[no-untyped-call,no-any-return]


class PolicyController(nn.Module):
    """One-layer LSTM that emits ``len(num_choices)`` categorical decisions in sequence.

    Step ``t`` reads the embedding of the decision taken at step ``t - 1`` (a learned start
    vector at ``t = 0``), advances the LSTM cell and predicts decision ``t`` with its own linear
    softmax head.

    Args:
        num_choices: Softmax width of every step, in emission order.
        hidden_size: LSTM hidden units (and embedding width); the paper uses 100.
        generator: Generator the weights are drawn from; the global torch RNG is never used.

    Raises:
        ConfigError: If ``num_choices`` is empty or has a width below 1, or ``hidden_size < 1``.
    """

    def __init__(self, num_choices: Sequence[int], *, hidden_size: int = 100, generator: torch.Generator) -> None:
        super().__init__()
        widths = tuple(num_choices)
        if not widths or any(not isinstance(k, int) or k < 1 for k in widths):
            raise ConfigError("num_choices", widths, "must be a non-empty sequence of ints >= 1")
        if isinstance(hidden_size, bool) or not isinstance(hidden_size, int) or hidden_size < 1:
            raise ConfigError("hidden_size", hidden_size, "must be an int >= 1")
        self.num_choices = widths
        self.hidden_size = hidden_size
        self.start = nn.Parameter(torch.empty(1, hidden_size))
        # skip_init: the modules' default initialisers would draw from torch's global RNG.
        self.cell = _uninitialized(nn.LSTMCell, hidden_size, hidden_size)
        self.heads = nn.ModuleList(_uninitialized(nn.Linear, hidden_size, k) for k in widths)
        # The last decision is never fed back, so it needs no embedding.
        self.embeddings = nn.ModuleList(_uninitialized(nn.Embedding, k, hidden_size) for k in widths[:-1])
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.uniform_(-INIT_RANGE, INIT_RANGE, generator=generator)

    @property
    def num_steps(self) -> int:
        """Number of decisions emitted per rollout."""
        return len(self.num_choices)

    def _initial(self, batch: int) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        zeros = self.start.new_zeros(batch, self.hidden_size)
        return self.start.expand(batch, -1), (zeros, zeros)

    def evaluate(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced log-probabilities and entropies of given action sequences.

        Args:
            actions: ``LongTensor`` of shape ``(batch, num_steps)``.

        Returns:
            ``(log_probs, entropies)``, both of shape ``(batch, num_steps)``: the log-probability
            of each taken action and the entropy of each step's softmax.
        """
        if actions.dim() != 2 or actions.shape[1] != self.num_steps:
            raise ConfigError("actions", tuple(actions.shape), f"expected shape (batch, {self.num_steps})")
        x, state = self._initial(actions.shape[0])
        log_probs: list[torch.Tensor] = []
        entropies: list[torch.Tensor] = []
        for t, head in enumerate(self.heads):
            state = self.cell(x, state)
            logp = torch.log_softmax(head(state[0]), dim=-1)
            log_probs.append(logp.gather(1, actions[:, t : t + 1]).squeeze(1))
            entropies.append(-(logp.exp() * logp).sum(dim=-1))
            if t + 1 < self.num_steps:
                x = self.embeddings[t](actions[:, t])
        return torch.stack(log_probs, dim=1), torch.stack(entropies, dim=1)

    @torch.no_grad()
    def sample(self, generator: torch.Generator, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample action sequences, each decision fed back to the next step.

        Args:
            generator: The only source of randomness.
            batch: Number of independent sequences.

        Returns:
            ``(actions, log_probs)`` of shape ``(batch, num_steps)``; ``log_probs`` are the
            log-probabilities of the sampled actions under the current weights.
        """
        return self._rollout(batch, generator)

    @torch.no_grad()
    def greedy(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The most likely decision at every step (arg-max fed back), as a ``(1, T)`` batch."""
        return self._rollout(1, None)

    def _rollout(self, batch: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        x, state = self._initial(batch)
        actions: list[torch.Tensor] = []
        log_probs: list[torch.Tensor] = []
        for t, head in enumerate(self.heads):
            state = self.cell(x, state)
            logp = torch.log_softmax(head(state[0]), dim=-1)
            if generator is None:
                action = logp.argmax(dim=-1)
            else:
                action = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
            actions.append(action)
            log_probs.append(logp.gather(1, action[:, None]).squeeze(1))
            if t + 1 < self.num_steps:
                x = self.embeddings[t](action)
        return torch.stack(actions, dim=1), torch.stack(log_probs, dim=1)
