"""PolicyController: initialisation, sampling statistics, teacher forcing, no global RNG."""

from __future__ import annotations

import pytest
import torch
from scipy import stats

from optnas import ConfigError
from optnas.controller import INIT_RANGE, PolicyController

WIDTHS = (16, 11, 10, 16, 11, 10)


def _controller(seed: int = 0, hidden: int = 12) -> PolicyController:
    return PolicyController(
        WIDTHS, hidden_size=hidden, generator=torch.Generator().manual_seed(seed)
    )


def test_structure_and_uniform_init() -> None:
    controller = _controller(hidden=100)
    assert controller.num_steps == len(WIDTHS)
    assert [h.out_features for h in controller.heads] == list(WIDTHS)
    assert len(controller.embeddings) == len(WIDTHS) - 1
    assert controller.cell.hidden_size == 100
    weights = torch.cat([p.detach().flatten() for p in controller.parameters()])
    assert weights.abs().max() <= INIT_RANGE
    # Uniform on [-0.1, 0.1]: mean 0, variance 0.01/3.
    assert abs(float(weights.mean())) < 0.002
    assert float(weights.var()) == pytest.approx(0.01 / 3, rel=0.02)
    ks = stats.kstest(weights.numpy(), stats.uniform(loc=-0.1, scale=0.2).cdf)
    assert ks.pvalue > 1e-3


def test_seeded_init_is_reproducible() -> None:
    a, b, c = _controller(1), _controller(1), _controller(2)
    for (_, pa), (_, pb), (_, pc) in zip(
        a.state_dict().items(), b.state_dict().items(), c.state_dict().items(), strict=True
    ):
        assert torch.equal(pa, pb)
        assert not torch.equal(pa, pc)


def test_global_rng_untouched() -> None:
    before = torch.random.get_rng_state()
    controller = _controller()
    controller.sample(torch.Generator().manual_seed(3), batch=4)
    assert torch.equal(before, torch.random.get_rng_state())


def test_sample_log_probs_match_teacher_forcing() -> None:
    controller = _controller()
    actions, log_probs = controller.sample(torch.Generator().manual_seed(0), batch=64)
    assert actions.shape == log_probs.shape == (64, len(WIDTHS))
    for t, width in enumerate(WIDTHS):
        assert int(actions[:, t].min()) >= 0 and int(actions[:, t].max()) < width
    evaluated, entropies = controller.evaluate(actions)
    torch.testing.assert_close(evaluated, log_probs, rtol=0, atol=1e-6)
    assert bool((entropies > 0).all())
    # Near-uniform init: entropies close to log(width).
    expected = torch.log(torch.tensor(WIDTHS, dtype=torch.float32))
    torch.testing.assert_close(entropies[0], expected, rtol=0, atol=0.05)


def test_sampling_follows_softmax() -> None:
    controller = _controller()
    with torch.no_grad():
        controller.heads[0].bias.copy_(torch.linspace(-2.0, 2.0, WIDTHS[0]))
    actions, _ = controller.sample(torch.Generator().manual_seed(5), batch=8000)
    counts = torch.bincount(actions[:, 0], minlength=WIDTHS[0]).numpy()
    probe = torch.zeros(WIDTHS[0], len(WIDTHS), dtype=torch.long)
    probe[:, 0] = torch.arange(WIDTHS[0])
    logp, _ = controller.evaluate(probe)
    probs = logp[:, 0].exp().detach().numpy()
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    chi2 = stats.chisquare(counts, probs / probs.sum() * counts.sum())
    assert chi2.pvalue > 1e-3


def test_previous_decision_is_fed_back() -> None:
    controller = _controller()
    a = torch.zeros(1, len(WIDTHS), dtype=torch.long)
    b = a.clone()
    b[0, 0] = 5
    _, ent_a = controller.evaluate(a)
    _, ent_b = controller.evaluate(b)
    assert torch.equal(ent_a[0, 0], ent_b[0, 0])  # step 0 does not see its own action
    assert not torch.equal(ent_a[0, 1], ent_b[0, 1])  # step 1 does


def test_same_generator_same_samples_and_greedy() -> None:
    controller = _controller()
    a, _ = controller.sample(torch.Generator().manual_seed(9), batch=3)
    b, _ = controller.sample(torch.Generator().manual_seed(9), batch=3)
    c, _ = controller.sample(torch.Generator().manual_seed(10), batch=3)
    assert torch.equal(a, b) and not torch.equal(a, c)
    greedy, greedy_lp = controller.greedy()
    logp, _ = controller.evaluate(greedy)
    torch.testing.assert_close(logp, greedy_lp, rtol=0, atol=1e-6)
    with torch.no_grad():
        controller.heads[0].bias.zero_()
        controller.heads[0].bias[7] = 10.0
    assert int(controller.greedy()[0][0, 0]) == 7


@pytest.mark.parametrize(
    ("widths", "hidden", "field"),
    [((), 4, "num_choices"), ((3, 0), 4, "num_choices"), ((3,), 0, "hidden_size")],
)
def test_validation(widths: tuple[int, ...], hidden: int, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        PolicyController(widths, hidden_size=hidden, generator=torch.Generator())
    assert info.value.field == field
    with pytest.raises(ConfigError, match="actions"):
        _controller().evaluate(torch.zeros(2, 3, dtype=torch.long))
