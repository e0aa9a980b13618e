"""The released FBNetV3-A..G (Dai et al., 2021, Table 3) as references, counted exactly.

``optnas cost fbnetv3_<x>`` counts what ``FlopCounterMode`` and ``numel`` see in the built model
(convolutions and linear layers; BatchNorm parameters included). The mobile-vision model zoo
(``model_info_fbnet_v3.json``) counts differently, in two known ways:

- its MACs also count every average pool as one MAC per input element (the squeeze of each
  squeeze-excite block and the ``ir_pool`` head's global pool);
- its parameters leave out BatchNorm (2 per normalized channel).

With those two terms converted, the MACs of all seven agree within 0.005%, and the parameters of
A, B and D within 0.02%. C, E, F and G keep a parameter excess of 13,560 / 14,896 / 18,376 /
10,464 (0.06-0.14%) that no convention tried here explains (conv biases, other squeeze-width
roundings, SE without biases all move A, B and D away from the table); they are pinned exactly
below, so any change of the grammar or the counter shows.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from optnas.cost import count
from optnas.models import build
from optnas.space import Arch, parse_arch, reference
from optnas.space._arch import round8_half_up

#: model_info_fbnet_v3.json: resolution, flops_m (MACs, millions), params_m.
ZOO = {
    "fbnetv3_a": (224, 356.59828, 8.542224),
    "fbnetv3_b": (248, 461.550136, 8.542224),
    "fbnetv3_c": (248, 556.969904, 9.907136),
    "fbnetv3_d": (248, 644.420352, 10.237552),
    "fbnetv3_e": (264, 762.046336, 10.699464),
    "fbnetv3_f": (272, 1181.64452, 13.803072),
    "fbnetv3_g": (320, 2129.656384, 16.513648),
}
#: What is left after the two conventions are converted (params only; see the module docstring).
UNEXPLAINED_PARAMS = {"fbnetv3_c": 13_560, "fbnetv3_e": 14_896, "fbnetv3_f": 18_376, "fbnetv3_g": 10_464}


def zoo_convention(arch: Arch, macs: int, params: int) -> tuple[int, int]:
    """Our exact counts in the model zoo's convention (pooling counted as MACs, no BatchNorm)."""
    st = arch.stem
    h = (arch.resolution + 2 * ((st.kernel - 1) // 2) - st.kernel) // st.stride + 1
    pooled, bn = 0, st.out_channels
    for b in arch.blocks:
        ho = b.out_size(h)
        if b.se is not None:
            pooled += b.expanded * ho * ho
        bn += (b.expanded if b.expanded != b.in_channels else 0) + b.expanded + b.out_channels
        h = ho
    pooled += arch.head.channels * h * h
    bn += arch.head.channels
    return macs + pooled, params - 2 * bn


@pytest.mark.parametrize("name", sorted(ZOO))
def test_reference_is_exact_against_the_built_model(name: str) -> None:
    arch = reference(name)
    assert arch.resolution == ZOO[name][0]
    cost = count(arch, 1000)
    model = build(arch, None, 1000, device="meta").eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, arch.resolution, arch.resolution, device="meta"))
    assert cost.macs == counter.get_total_flops() // 2
    assert cost.params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(ZOO))
def test_reference_agrees_with_the_model_zoo(name: str) -> None:
    arch = reference(name)
    cost = count(arch, 1000)
    macs, params = zoo_convention(arch, cost.macs, cost.params)
    _, zoo_mmacs, zoo_mparams = ZOO[name]
    assert macs / 1e6 == pytest.approx(zoo_mmacs, rel=5e-5)
    excess = params - round(zoo_mparams * 1e6)
    if name in UNEXPLAINED_PARAMS:
        assert excess == UNEXPLAINED_PARAMS[name]
    else:
        assert abs(excess) / (zoo_mparams * 1e6) < 2e-4


def test_fbnetv3_a_shape_follows_the_released_padding() -> None:
    arch = reference("fbnetv3_a")
    h = 112
    sizes = []
    for b in arch.blocks:
        h = b.out_size(h)
        sizes.append(h)
    # k5 s2 with padding 1 takes 28 to 13, then k3 s2 with padding 0 takes 13 to 6.
    assert sizes[-1] == 6 and 13 in sizes and 14 not in sizes


def test_padding_and_sefb_round_trip_and_validate() -> None:
    text = "res32 stem_k3_s2_c16_hs ir_k5_e4_c24_s2_p1_n2_sefb_hs head_c96_fc128_hs"
    arch = Arch.parse(text)
    assert str(arch) == text and Arch.parse(str(arch)) == arch
    first, second = arch.blocks
    assert first.padding == 1 and second.padding == 1 and first.pad == 1
    assert first.out_size(16) == (16 + 2 - 5) // 2 + 1
    assert parse_arch(text) == arch
    with pytest.raises(Exception, match="padding"):
        Arch.parse("res32 stem_k3_s2_c16_hs ir_k3_e4_c24_p3_hs head_c96_hs")
    with pytest.raises(Exception, match="too small"):
        Arch.parse("res4 stem_k3_s2_c16_hs ir_k5_e4_c24_s2_p0_hs head_c96_hs")


@pytest.mark.parametrize(("value", "expected"), [(2, 8), (6, 8), (10, 8), (12, 16), (18, 16), (20, 24), (46, 48)])
def test_sefb_squeeze_width(value: int, expected: int) -> None:
    assert round8_half_up(value) == expected


def test_padded_small_arch_is_exact_on_cpu() -> None:
    arch = Arch.parse("res20 stem_k3_s1_c8_hs ir_k5_e3_c16_s2_p1_sefb_hs ir_k3_e2_c16_n2_p0_hs head_c32_fc48_hs")
    cost = count(arch, 10)
    model = build(arch, None, 10).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.zeros(2, 3, 20, 20))
    assert out.shape == (2, 10)
    assert cost.macs == counter.get_total_flops() // 4  # batch 2, FLOPs = 2 x MACs
    assert cost.params == sum(p.numel() for p in model.parameters())
