"""Preset search spaces and reference architectures.

- ``fbnetv3``: the paper-scale ImageNet space after FBNetV3 (Dai et al., 2021) Table 1.
- ``cifar``: the same shape scaled to 32 px CIFAR-10 inputs and CPU budgets (stem stride 1,
  total stride 8, narrower groups, a few epochs).
- ``digits``: a tiny space for scikit-learn's 8x8 digits (the embedded default and tests).

Reference architectures (:func:`reference`) are torchvision's ``mobilenet_v2``,
``mobilenet_v3_large`` and ``efficientnet_b0`` (whose parameter and MAC counts the cost model
reproduces exactly) and FBNetV3-A from the released model definition.
"""

from __future__ import annotations

from collections.abc import Callable

from optnas._errors import ConfigError
from optnas.space._arch import Arch
from optnas.space._dims import Choice, FloatRange, IntRange
from optnas.space._joint import GroupSpec, JointSpace, RecipeSpec
from optnas.space._torchvision import PREFIX, AnyArch, TorchvisionArch

__all__ = ["PRESETS", "REFERENCES", "parse_arch", "preset", "reference"]


def _fbnetv3() -> JointSpace:
    k35 = (3, 5)
    e47 = IntRange(4, 7)
    return JointSpace(
        name="fbnetv3",
        resolution=IntRange(224, 272, 8),
        stem_channels=IntRange(16, 24, 2),
        stem_kernel=3,
        stem_stride=2,
        stem_act="hs",
        groups=(
            GroupSpec((3,), IntRange(1, 1), IntRange(16, 24, 2), IntRange(1, 2), 1, None, "hs"),
            GroupSpec(k35, e47, IntRange(20, 32, 4), IntRange(4, 7), 2, None, "hs"),
            GroupSpec(k35, e47, IntRange(24, 48, 4), IntRange(4, 7), 2, "se", "hs"),
            GroupSpec(k35, e47, IntRange(56, 84, 4), IntRange(4, 8), 2, None, "hs"),
            GroupSpec(k35, e47, IntRange(96, 144, 4), IntRange(6, 10), 1, "se", "hs"),
            GroupSpec(k35, e47, IntRange(180, 224, 4), IntRange(5, 9), 2, "se", "hs"),
            GroupSpec(k35, IntRange(6, 6), IntRange(180, 224, 4), IntRange(1, 1), 1, "se", "hs"),
        ),
        head_channels=IntRange(1984, 1984),
        head_act="hs",
        recipe=RecipeSpec(
            optimizer=Choice(("rmsprop", "sgd")),
            lr=FloatRange(0.01, 0.1, log=True),
            weight_decay=FloatRange(7e-6, 5e-5, log=True),
            momentum=FloatRange(0.9, 0.9),
            mixup_alpha=FloatRange(0.0, 0.4),
            dropout=FloatRange(0.15, 0.3),
            stochastic_depth=FloatRange(0.1, 0.2),
            ema=Choice((True, False)),
            ema_decay=FloatRange(0.9998, 0.9998),
            label_smoothing=FloatRange(0.1, 0.1),
            epochs=IntRange(400, 400),
            batch_size=Choice((256,)),
            warmup_epochs=FloatRange(5.0, 5.0),
        ),
    )


def _cifar() -> JointSpace:
    k35 = (3, 5)
    return JointSpace(
        name="cifar",
        resolution=IntRange(24, 32, 4),
        stem_channels=IntRange(8, 16, 4),
        stem_kernel=3,
        stem_stride=1,
        stem_act="hs",
        groups=(
            GroupSpec((3,), IntRange(1, 1), IntRange(8, 16, 4), IntRange(1, 2), 1, None, "hs"),
            GroupSpec(k35, IntRange(2, 4), IntRange(16, 24, 4), IntRange(1, 3), 2, None, "hs"),
            GroupSpec(k35, IntRange(2, 4), IntRange(24, 40, 8), IntRange(1, 3), 2, "se", "hs"),
            GroupSpec(k35, IntRange(2, 4), IntRange(40, 64, 8), IntRange(1, 3), 2, None, "hs"),
            GroupSpec(k35, IntRange(2, 4), IntRange(64, 96, 16), IntRange(1, 2), 1, "se", "hs"),
        ),
        head_channels=IntRange(256, 256),
        head_act="hs",
        recipe=RecipeSpec(
            optimizer=Choice(("sgd", "rmsprop", "adamw")),
            lr=FloatRange(1e-3, 0.3, log=True),
            weight_decay=FloatRange(1e-5, 1e-3, log=True),
            momentum=FloatRange(0.9, 0.9),
            mixup_alpha=FloatRange(0.0, 0.4),
            dropout=FloatRange(0.0, 0.3),
            stochastic_depth=FloatRange(0.0, 0.2),
            ema=Choice((True, False)),
            ema_decay=FloatRange(0.99, 0.99),
            label_smoothing=FloatRange(0.0, 0.2),
            epochs=IntRange(8, 8),
            batch_size=Choice((128,)),
            warmup_epochs=FloatRange(1.0, 1.0),
        ),
    )


def _digits() -> JointSpace:
    return JointSpace(
        name="digits",
        resolution=IntRange(8, 16, 4),
        stem_channels=IntRange(8, 16, 4),
        stem_kernel=3,
        stem_stride=1,
        stem_act="hs",
        groups=(
            GroupSpec((3,), IntRange(1, 1), IntRange(8, 16, 4), IntRange(1, 2), 1, None, "hs"),
            GroupSpec((3, 5), IntRange(2, 4), IntRange(16, 32, 8), IntRange(1, 2), 2, "se", "hs"),
            GroupSpec((3, 5), IntRange(2, 4), IntRange(24, 48, 8), IntRange(1, 2), 2, None, "hs"),
        ),
        head_channels=IntRange(64, 64),
        head_act="hs",
        recipe=RecipeSpec(
            optimizer=Choice(("sgd", "adamw")),
            lr=FloatRange(1e-3, 0.3, log=True),
            weight_decay=FloatRange(1e-5, 1e-3, log=True),
            momentum=FloatRange(0.9, 0.9),
            mixup_alpha=FloatRange(0.0, 0.4),
            dropout=FloatRange(0.0, 0.3),
            stochastic_depth=FloatRange(0.0, 0.2),
            ema=Choice((True, False)),
            ema_decay=FloatRange(0.98, 0.98),
            label_smoothing=FloatRange(0.0, 0.1),
            epochs=IntRange(6, 6),
            batch_size=Choice((64,)),
            warmup_epochs=FloatRange(0.5, 0.5),
        ),
    )


PRESETS: dict[str, Callable[[], JointSpace]] = {
    "fbnetv3": _fbnetv3,
    "cifar": _cifar,
    "digits": _digits,
}


def preset(name: str) -> JointSpace:
    """The preset search space ``name`` (one of :data:`PRESETS`)."""
    if name not in PRESETS:
        raise ConfigError("preset", name, f"unknown preset; expected one of {sorted(PRESETS)}")
    return PRESETS[name]()


REFERENCES: dict[str, str] = {
    # torchvision.models.mobilenet_v2 (Sandler et al., 2018, Table 2).
    "mobilenet_v2": (
        "res224 stem_k3_s2_c32_r6 ir_k3_e1_c16_r6 ir_k3_e6_c24_s2_n2_r6 ir_k3_e6_c32_s2_n3_r6 "
        "ir_k3_e6_c64_s2_n4_r6 ir_k3_e6_c96_n3_r6 ir_k3_e6_c160_s2_n3_r6 ir_k3_e6_c320_r6 "
        "head_c1280_r6"
    ),
    # torchvision.models.mobilenet_v3_large (Howard et al., 2019, Table 1).
    "mobilenet_v3_large": (
        "res224 stem_k3_s2_c16_hs ir_k3_x16_c16_re ir_k3_x64_c24_s2_re ir_k3_x72_c24_re "
        "ir_k5_x72_c40_s2_se_re ir_k5_x120_c40_n2_se_re ir_k3_x240_c80_s2_hs ir_k3_x200_c80_hs "
        "ir_k3_x184_c80_n2_hs ir_k3_x480_c112_se_hs ir_k3_x672_c112_se_hs "
        "ir_k5_x672_c160_s2_se_hs ir_k5_x960_c160_n2_se_hs head_c960_fc1280_hs"
    ),
    # torchvision.models.efficientnet_b0 (Tan & Le, 2019, Table 1).
    "efficientnet_b0": (
        "res224 stem_k3_s2_c32_sw ir_k3_e1_c16_seeff_sw ir_k3_e6_c24_s2_n2_seeff_sw "
        "ir_k5_e6_c40_s2_n2_seeff_sw ir_k3_e6_c80_s2_n3_seeff_sw ir_k5_e6_c112_n3_seeff_sw "
        "ir_k5_e6_c192_s2_n4_seeff_sw ir_k3_e6_c320_seeff_sw head_c1280_sw"
    ),
    # FBNetV3-A..G (Dai et al., 2021, Table 3), the released definitions of facebookresearch/mobile-vision
    # (mobile_cv/arch/fbnet_v2/fbnet_modeldef_cls_fbnetv3.py), each at its own resolution: hard-swish
    # everywhere, squeeze-excite "sehsig" with less_se_channels (sefb: get_divisible_by(in // 4, 8),
    # see divisible_by), per-block depthwise padding (p1/p0 on some stride-2 blocks), and the ir_pool
    # head (1x1 conv to 6x the last width, pool, 1x1 conv to 1984 = hidden linear layer). B is A at
    # 248 px. In the model zoo's convention (weights only; pools counted as MACs) all seven match
    # model_info_fbnet_v3.json exactly (tests/cost/test_fbnetv3_references.py).
    "fbnetv3_a": (
        "res224 stem_k3_s2_c16_hs ir_k3_e1_c16_n2_hs ir_k5_e4_c24_s2_hs ir_k5_e2_c24_n3_hs "
        "ir_k5_e5_c40_s2_sefb_hs ir_k5_e3_c40_n4_sefb_hs ir_k5_e5_c72_s2_p1_hs ir_k3_e3_c72_n4_hs "
        "ir_k3_e5_c120_sefb_hs ir_k5_e3_c120_n5_sefb_hs ir_k3_e6_c184_s2_p0_sefb_hs "
        "ir_k5_e4_c184_n5_sefb_hs ir_k5_e6_c224_sefb_hs head_c1344_fc1984_hs"
    ),
    "fbnetv3_b": (
        "res248 stem_k3_s2_c16_hs ir_k3_e1_c16_n2_hs ir_k5_e4_c24_s2_hs ir_k5_e2_c24_n3_hs "
        "ir_k5_e5_c40_s2_sefb_hs ir_k5_e3_c40_n4_sefb_hs ir_k5_e5_c72_s2_p1_hs ir_k3_e3_c72_n4_hs "
        "ir_k3_e5_c120_sefb_hs ir_k5_e3_c120_n5_sefb_hs ir_k3_e6_c184_s2_p0_sefb_hs "
        "ir_k5_e4_c184_n5_sefb_hs ir_k5_e6_c224_sefb_hs head_c1344_fc1984_hs"
    ),
    "fbnetv3_c": (
        "res248 stem_k3_s2_c16_hs ir_k3_e1_c16_n2_hs ir_k5_e5_c24_s2_hs ir_k3_e3_c24_n4_hs "
        "ir_k5_e5_c48_s2_sefb_hs ir_k5_e2_c48_n4_sefb_hs ir_k5_e4_c88_s2_p1_hs ir_k3_e3_c88_n4_hs "
        "ir_k3_e4_c120_sefb_hs ir_k5_e3_c120_n5_sefb_hs ir_k5_e5_c216_s2_p1_sefb_hs "
        "ir_k5_e5_c216_n5_sefb_hs ir_k5_e6_c216_sefb_hs head_c1296_fc1984_hs"
    ),
    "fbnetv3_d": (
        "res248 stem_k3_s2_c24_hs ir_k3_e1_c16_n2_hs ir_k3_e5_c24_s2_hs ir_k3_e2_c24_n5_hs "
        "ir_k5_e4_c40_s2_sefb_hs ir_k3_e3_c40_n4_sefb_hs ir_k3_e5_c72_s2_hs ir_k3_e3_c72_n4_hs "
        "ir_k3_e5_c128_sefb_hs ir_k5_e3_c128_n6_sefb_hs ir_k3_e6_c208_s2_sefb_hs ir_k5_e5_c208_n5_sefb_hs "
        "ir_k5_e6_c240_sefb_hs head_c1440_fc1984_hs"
    ),
    "fbnetv3_e": (
        "res264 stem_k3_s2_c24_hs ir_k3_e1_c16_n3_hs ir_k5_e4_c24_s2_hs ir_k5_e2_c24_n4_hs "
        "ir_k5_e4_c48_s2_sefb_hs ir_k5_e3_c48_n4_sefb_hs ir_k5_e5_c80_s2_p1_hs ir_k3_e3_c80_n4_hs "
        "ir_k3_e5_c128_sefb_hs ir_k5_e3_c128_n7_sefb_hs ir_k3_e6_c216_s2_sefb_hs ir_k5_e5_c216_n5_sefb_hs "
        "ir_k5_e6_c240_sefb_hs head_c1440_fc1984_hs"
    ),
    "fbnetv3_f": (
        "res272 stem_k3_s2_c24_hs ir_k3_e1_c24_n3_hs ir_k5_e4_c32_s2_hs ir_k5_e2_c32_n4_hs "
        "ir_k5_e4_c56_s2_sefb_hs ir_k5_e3_c56_n4_sefb_hs ir_k5_e5_c88_s2_hs ir_k3_e3_c88_n4_hs "
        "ir_k3_e5_c144_sefb_hs ir_k5_e3_c144_n8_sefb_hs ir_k3_e6_c248_s2_p0_sefb_hs "
        "ir_k5_e5_c248_n6_sefb_hs ir_k5_e6_c272_sefb_hs head_c1632_fc1984_hs"
    ),
    "fbnetv3_g": (
        "res320 stem_k3_s2_c32_hs ir_k3_e1_c24_n3_hs ir_k5_e4_c40_s2_hs ir_k5_e2_c40_n4_hs "
        "ir_k5_e4_c56_s2_sefb_hs ir_k5_e3_c56_n4_sefb_hs ir_k5_e5_c104_s2_hs ir_k3_e3_c104_n4_hs "
        "ir_k3_e5_c160_sefb_hs ir_k5_e3_c160_n8_sefb_hs ir_k3_e6_c264_s2_sefb_hs ir_k5_e5_c264_n6_sefb_hs "
        "ir_k5_e6_c288_n2_sefb_hs head_c1728_fc1984_hs"
    ),
}


def reference(name: str, resolution: int | None = None) -> Arch:
    """A reference architecture by name (see :data:`REFERENCES`), optionally re-sized."""
    if name not in REFERENCES:
        raise ConfigError("arch", name, f"unknown reference architecture; expected one of {sorted(REFERENCES)}")
    arch = Arch.parse(REFERENCES[name])
    return arch if resolution is None else arch.replace_resolution(resolution)


def parse_arch(text: str) -> AnyArch:
    """Any architecture text: a :data:`REFERENCES` name, ``torchvision:<model> [res<R>] [small]``
    (:class:`TorchvisionArch`) or the block-string form of :meth:`Arch.parse`.

    Raises:
        ConfigError: naming the offending token.
    """
    if not isinstance(text, str):
        raise ConfigError("arch", text, "expected an architecture string")
    if text.strip() in REFERENCES:
        return reference(text.strip())
    if text.strip().startswith(PREFIX):
        return TorchvisionArch.parse(text)
    return Arch.parse(text)
