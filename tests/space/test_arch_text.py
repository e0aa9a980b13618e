"""The architecture dataclasses and their text form (``Arch.parse`` / ``str(arch)``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optnas import ConfigError
from optnas.space import (
    ACTIVATIONS,
    PRESETS,
    REFERENCES,
    Arch,
    Block,
    Head,
    Stage,
    Stem,
    make_divisible,
    preset,
    reference,
)

_ACTS = sorted(ACTIVATIONS)
_SES: tuple[str | None, ...] = (None, "se", "seeff")


def _pick(rng: np.random.Generator, options: tuple[object, ...] | list[object]) -> object:
    return options[int(rng.integers(len(options)))]


def random_arch(rng: np.random.Generator) -> Arch:
    """An arbitrary architecture exercising every field of the grammar (not a preset's shape)."""
    stem = Stem(
        out_channels=int(rng.integers(1, 33)),
        kernel=int(_pick(rng, (1, 3, 5))),  # type: ignore[call-overload]
        stride=int(rng.integers(1, 3)),
        act=str(_pick(rng, _ACTS)),
    )
    stages = []
    for _ in range(int(rng.integers(1, 6))):
        explicit = bool(rng.random() < 0.3)
        block = Block(
            kernel=int(_pick(rng, (1, 3, 5, 7))),  # type: ignore[call-overload]
            out_channels=int(rng.integers(1, 49)),
            stride=int(rng.integers(1, 3)),
            expansion=None if explicit else float(_pick(rng, (1.0, 0.5, 1.75, 2.5, 3.0, 4.0, 6.0))),  # type: ignore[arg-type]
            expanded=int(rng.integers(1, 97)) if explicit else None,
            se=_pick(rng, _SES),  # type: ignore[arg-type]
            act=str(_pick(rng, _ACTS)),
        )
        stages.append(Stage(block, int(rng.integers(1, 4))))
    total_stride = stem.stride * math.prod(s.block.stride for s in stages)
    resolution = int(rng.integers(total_stride, max(total_stride, 40) + 1))
    fc = int(rng.integers(1, 65)) if rng.random() < 0.5 else None
    head = Head(channels=int(rng.integers(1, 65)), fc=fc, act=str(_pick(rng, _ACTS)))
    return Arch(resolution, stem, tuple(stages), head)


def _preset_archs(name: str, n: int, seed: int) -> list[Arch]:
    space = preset(name)
    return [arch for arch, _ in space.iter_candidates(space.sample(n, seed))]


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_reference_strings_round_trip_exactly(name: str) -> None:
    text = REFERENCES[name]
    arch = Arch.parse(text)
    assert str(arch) == text
    assert Arch.parse(str(arch)) == arch
    assert reference(name) == arch


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_archs_round_trip(name: str) -> None:
    archs = _preset_archs(name, 256, seed=7)
    assert len({str(a) for a in archs}) > 200  # the pool is diverse, not one arch repeated
    for arch in archs:
        text = str(arch)
        parsed = Arch.parse(text)
        assert parsed == arch
        assert parsed.blocks == arch.blocks
        assert str(parsed) == text


def test_random_archs_round_trip() -> None:
    rng = np.random.default_rng(2024)
    for _ in range(300):
        arch = random_arch(rng)
        text = str(arch)
        assert Arch.parse(text) == arch, text
        assert str(Arch.parse(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "res32 stem_k3_s1_c16_re ir_k3_e1_c16_re head_c64_re",
        "res224 stem_k5_s2_c8_sw ir_k7_e2.5_c24_s2_n3_seeff_sw ir_k1_x7_c9_se_r6 head_c10_fc3_hs",
        "res16 stem_k1_s1_c1_hs ir_k3_e0.5_c1_n4_hs ir_k3_e1.75_c2_s2_sw head_c1_hs",
        "res9 stem_k3_s3_c3_re ir_k3_e6_c5_s3_re head_c7_fc7_r6",
    ],
)
def test_canonical_strings_round_trip(text: str) -> None:
    assert str(Arch.parse(text)) == text


def test_non_canonical_field_order_parses_to_the_same_arch() -> None:
    canonical = "res224 stem_k3_s2_c16_hs ir_k5_e4_c24_s2_n3_se_hs head_c1280_fc1024_hs"
    shuffled = "res224 stem_hs_c16_s2_k3 ir_hs_se_n3_s2_c24_e4_k5 head_hs_fc1024_c1280"
    assert Arch.parse(shuffled) == Arch.parse(canonical)
    assert str(Arch.parse(shuffled)) == canonical
    # defaults: stride 1, one repetition, stem k3 s2, no SE, no hidden fc
    defaults = Arch.parse("res32 stem_c8_re ir_k3_e1_c8_re head_c16_re")
    assert defaults.stem == Stem(8, 3, 2, "re")
    assert defaults.stages == (Stage(Block(3, 8, 1, expansion=1.0, act="re"), 1),)
    assert defaults.head == Head(16, None, "re")
    assert str(defaults) == "res32 stem_k3_s2_c8_re ir_k3_e1_c8_re head_c16_re"


def test_parsed_fields() -> None:
    arch = Arch.parse("res64 stem_k3_s2_c16_hs ir_k5_e2.5_c24_s2_n3_seeff_sw ir_k3_x40_c40_se_re head_c96_fc128_r6")
    assert arch.resolution == 64
    first, second = arch.stages
    assert first == Stage(Block(5, 24, 2, expansion=2.5, se="seeff", act="sw"), 3)
    assert second == Stage(Block(3, 40, 1, expanded=40, se="se", act="re"), 1)
    assert arch.head == Head(96, 128, "r6")
    assert arch.last_channels == 40
    # resolved blocks: stride on the first repetition only, widths chained
    b = arch.blocks
    assert [(s.in_channels, s.out_channels, s.stride) for s in b] == [
        (16, 24, 2),
        (24, 24, 1),
        (24, 24, 1),
        (24, 40, 1),
    ]
    assert [s.expanded for s in b] == [40, 64, 64, 40]  # make_divisible(16*2.5)=40, (24*2.5)=64
    assert [s.residual for s in b] == [False, True, True, False]


def test_make_divisible_matches_the_mobilenet_rule() -> None:
    # torchvision's _make_divisible: round to the nearest multiple, never > 10% below.
    assert make_divisible(16 * 6) == 96
    assert make_divisible(3) == 8
    assert make_divisible(20) == 24  # 16 would be 20% below
    assert make_divisible(36) == 40
    assert make_divisible(35) == 32  # 32 >= 0.9 * 35
    assert make_divisible(35.9) == 40  # 32 < 0.9 * 35.9
    assert make_divisible(100, 16) == 96
    assert make_divisible(24 * 4.5) == 112


def test_expanded_width() -> None:
    assert Block(3, 8, expansion=1.0).expanded_width(13) == 13  # e1 keeps the width exactly
    assert Block(3, 8, expansion=6.0).expanded_width(13) == make_divisible(78)
    assert Block(3, 8, expanded=72).expanded_width(13) == 72


def test_replace_resolution_keeps_everything_else() -> None:
    arch = reference("mobilenet_v2")
    small = arch.replace_resolution(64)
    assert small.resolution == 64
    assert (small.stem, small.stages, small.head) == (arch.stem, arch.stages, arch.head)
    assert reference("mobilenet_v2", 96).resolution == 96


# --- malformed strings ---------------------------------------------------------------------------

_STEM = "stem_k3_s2_c16_hs"
_HEAD = "head_c64_hs"


def _with_block(block: str, res: str = "res32") -> str:
    return f"{res} {_STEM} {block} {_HEAD}"


@pytest.mark.parametrize(
    ("text", "bad_token", "reason"),
    [
        (_with_block("ir_k3_e1_c16_q7_hs"), "ir_k3_e1_c16_q7_hs", "unknown field 'q7'"),
        (_with_block("ir_k4_e1_c16_hs"), "ir_k4_e1_c16_hs", "odd"),
        (_with_block("ir_k0_e1_c16_hs"), "ir_k0_e1_c16_hs", "kernel"),
        (_with_block("ir_k3_e1_c16"), "ir_k3_e1_c16", "missing activation"),
        (_with_block("ir_k3_e1_c16_gelu"), "ir_k3_e1_c16_gelu", "unknown field 'gelu'"),
        (_with_block("ir_k3_e1_x16_c16_hs"), "ir_k3_e1_x16_c16_hs", "exactly one of"),
        (_with_block("ir_k3_c16_hs"), "ir_k3_c16_hs", "exactly one of"),
        (_with_block("ir_k3_e1_cx_hs"), "ir_k3_e1_cx_hs", "'c' needs an integer"),
        (_with_block("ir_k3_e1_c16_s1.5_hs"), "ir_k3_e1_c16_s1.5_hs", "'s' needs an integer"),
        (_with_block("ir_k3_e1_c16_n-1_hs"), "ir_k3_e1_c16_n-1_hs", "'n' needs an integer"),
        (_with_block("ir_k³_e1_c16_hs"), "ir_k³_e1_c16_hs", "'k' needs an integer"),
        (_with_block("ir_k3_e1_c0_hs"), "ir_k3_e1_c0_hs", "out_channels"),
        (_with_block("ir_k3_e1_c16_n0_hs"), "ir_k3_e1_c16_n0_hs", "repeats"),
        (_with_block("ir_k3_x0_c16_hs"), "ir_k3_x0_c16_hs", "expanded"),
        (_with_block("ir_k3_e1.2.3_c16_hs"), "ir_k3_e1.2.3_c16_hs", "bad expansion"),
        (_with_block("ir_k3_enan_c16_hs"), "ir_k3_enan_c16_hs", "bad expansion"),
        (_with_block("ir_k3_einf_c16_hs"), "ir_k3_einf_c16_hs", "bad expansion"),
        (_with_block("ir_k3_e0_c16_hs"), "ir_k3_e0_c16_hs", "must be > 0"),
        (_with_block("ir_k3_e-2_c16_hs"), "ir_k3_e-2_c16_hs", "must be > 0"),
        (_with_block("ir_k3_e1_c16_sex_hs"), "ir_k3_e1_c16_sex_hs", "squeeze-excite"),
        (_with_block("ir_k3_e1_c16_se_seeff_hs"), "ir_k3_e1_c16_se_seeff_hs", "given twice"),
        (_with_block("ir_k3_k5_e1_c16_hs"), "ir_k3_k5_e1_c16_hs", "given twice"),
        (_with_block("ir_k3_e1_c16_hs_re"), "ir_k3_e1_c16_hs_re", "given twice"),
        (_with_block("ir_e1_c16_hs"), "ir_e1_c16_hs", "'k<int>'"),
        (_with_block("ir_k3_e1_hs"), "ir_k3_e1_hs", "'c<int>'"),
        (_with_block("conv_k3_e1_c16_hs"), "conv_k3_e1_c16_hs", "'ir_'"),
        (_with_block("ir_k3_e1_c16_hs", res="r32"), "r32", "res<int>"),
        (_with_block("ir_k3_e1_c16_hs", res="resX"), "resX", "res<int>"),
        (_with_block("ir_k3_e1_c16_hs", res="res2²"), "res2²", "res<int>"),
        ("res32 stem_k3_s2_hs ir_k3_e1_c16_hs head_c64_hs", "stem_k3_s2_hs", "'c<int>'"),
        ("res32 stem_k4_s2_c16_hs ir_k3_e1_c16_hs head_c64_hs", "stem_k4_s2_c16_hs", "odd"),
        ("res32 stem_k3_s0_c16_hs ir_k3_e1_c16_hs head_c64_hs", "stem_k3_s0_c16_hs", "stride"),
        ("res32 stem_k3_c16_se_hs ir_k3_e1_c16_hs head_c64_hs", "stem_k3_c16_se_hs", "'se'"),
        ("res32 stem_k3_s2_c16_se_hs ir_k3_e1_c16_hs head_c64_hs", "stem_k3_s2_c16_se_hs", "twice"),
        (
            "res32 stem_k3_s2_c16 ir_k3_e1_c16_hs head_c64_hs",
            "stem_k3_s2_c16",
            "missing activation",
        ),
        ("res32 stem_k3_s2_c16_hs ir_k3_e1_c16_hs head_fc64_hs", "head_fc64_hs", "'c<int>'"),
        ("res32 stem_k3_s2_c16_hs ir_k3_e1_c16_hs head_c64_fcx_hs", "head_c64_fcx_hs", "'fc'"),
        ("res32 stem_k3_s2_c16_hs ir_k3_e1_c16_hs head_c64_k3_hs", "head_c64_k3_hs", "'k3'"),
        ("res32 stem_k3_s2_c16_hs ir_k3_e1_c16_hs tail_c64_hs", "tail_c64_hs", "'head_'"),
    ],
)
def test_malformed_strings_name_the_bad_token(text: str, bad_token: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        Arch.parse(text)
    exc = info.value
    assert exc.field == "arch token"
    assert exc.value == bad_token
    message = str(exc)
    assert message.startswith(f"arch token={bad_token!r}")
    assert reason in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "res224",
        "res224 stem_k3_s2_c16_hs head_c64_hs",
        "res224 stem_k3_s2_c16_hs ir_k3_e1_c16_hs",
    ],
)
def test_too_few_tokens(text: str) -> None:
    with pytest.raises(ConfigError, match="at least 4 tokens") as info:
        Arch.parse(text)
    assert info.value.field == "arch"
    assert info.value.value == text


def test_non_string_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        Arch.parse(224)  # type: ignore[arg-type]
    assert info.value.field == "arch"
    assert info.value.value == 224


@pytest.mark.parametrize(
    ("text", "total_stride"),
    [
        ("res8 stem_k3_s2_c16_hs ir_k3_e1_c16_s2_hs ir_k3_e1_c16_s4_hs head_c64_hs", 16),
        ("res100 " + REFERENCES["mobilenet_v2"].split(" ", 1)[1], None),
        ("res31 " + REFERENCES["efficientnet_b0"].split(" ", 1)[1], 32),
    ],
)
def test_resolution_too_small_for_strides(text: str, total_stride: int | None) -> None:
    if total_stride is None:  # control: 100 px is fine for a stride-32 network
        assert Arch.parse(text).resolution == 100
        return
    res_token = text.split()[0]
    with pytest.raises(ConfigError) as info:
        Arch.parse(text)
    message = str(info.value)
    assert info.value.field == "arch"
    assert f"resolution={int(res_token[3:])}" in message
    assert f"total stride {total_stride}" in message
    assert res_token in message


# --- dataclass validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field", "value"),
    [
        (lambda: Block(4, 16, expansion=1.0), "kernel", 4),
        (lambda: Block(True, 16, expansion=1.0), "kernel", True),  # type: ignore[arg-type]
        (lambda: Block(3, -8, expansion=1.0), "out_channels", -8),
        (lambda: Block(3, 16, 0, expansion=1.0), "stride", 0),
        (lambda: Block(3, 16), "expansion", None),
        (lambda: Block(3, 16, expansion=2.0, expanded=32), "expansion", 2.0),
        (lambda: Block(3, 16, expansion=-1.0), "expansion", -1.0),
        (lambda: Block(3, 16, expanded=0), "expanded", 0),
        (lambda: Block(3, 16, expansion=1.0, se="cbam"), "se", "cbam"),
        (lambda: Block(3, 16, expansion=1.0, act="gelu"), "act", "gelu"),
        (lambda: Stage(Block(3, 16, expansion=1.0), 0), "repeats", 0),
        (lambda: Stem(-16), "stem.out_channels", -16),
        (lambda: Stem(16, kernel=2), "stem.kernel", 2),
        (lambda: Stem(16, act="tanh"), "stem.act", "tanh"),
        (lambda: Head(0), "head.channels", 0),
        (lambda: Head(64, fc=-1), "head.fc", -1),
        (lambda: Head(64, act="elu"), "head.act", "elu"),
        (
            lambda: Arch(0, Stem(8), (Stage(Block(3, 8, expansion=1.0)),), Head(8)),
            "resolution",
            0,
        ),
        (lambda: Arch(32, Stem(8), (), Head(8)), "stages", ()),
        (
            lambda: Arch(3, Stem(8, stride=2), (Stage(Block(3, 8, 2, expansion=1.0)),), Head(8)),
            "resolution",
            3,
        ),
    ],
)
def test_dataclass_validation_names_field_and_value(make, field: str, value: object) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        make()
    assert info.value.field == field
    assert info.value.value == value
    assert str(info.value).startswith(f"{field}={value!r}: ")


def test_archs_are_frozen_and_hashable() -> None:
    arch = reference("efficientnet_b0")
    with pytest.raises(AttributeError):
        arch.resolution = 10  # type: ignore[misc]
    assert hash(arch) == hash(Arch.parse(str(arch)))
    assert len({arch, Arch.parse(str(arch)), reference("mobilenet_v2")}) == 2
