"""Architecture description: frozen dataclasses and their compact text form.

An :class:`Arch` is a MobileNet-style network: a stem convolution, a sequence of stages of
inverted-residual (MBConv) blocks (Sandler et al., 2018; Howard et al., 2019; Tan & Le, 2019),
and a head. This is the macro-architecture of FBNetV3 (Dai et al., 2021, Sec. 4.1, Table 1):
each stage ("group" in the paper) repeats one block ``n`` times, the first repetition carries
the stage's stride, and every block has its own kernel size, expansion, output channels,
squeeze-excite variant and activation.

Text form
---------
An architecture is written as whitespace-separated tokens, in this order::

    res<R> stem_k<K>_s<S>_c<C>_<act> <block> [<block> ...] head_c<C>[_fc<F>]_<act>

and each ``<block>`` token (one stage) is::

    ir_k<K>_(e<ratio>|x<expanded>)_c<C>[_s<S>][_p<P>][_n<N>][_se|_seeff|_sefb]_<act>

``k`` kernel size (odd), ``e`` expansion ratio of the block's *input* channels (the
expanded width is ``make_divisible(in * e, 8)``, as in torchvision's EfficientNet), or ``x``
an explicit expanded width (MobileNetV3 style), ``c`` output channels, ``s`` stride of the
first repetition (default 1), ``p`` padding of the depthwise convolution of every repetition
(default ``(k - 1) // 2``; the released FBNetV3 models pad some stride-2 blocks by 1 or 0),
``n`` repetitions (default 1), ``se`` squeeze-excite with a ReLU squeeze and hard-sigmoid gate
on ``make_divisible(expanded // 4, 8)`` channels (MobileNetV3), ``seeff`` squeeze-excite with a
SiLU squeeze and sigmoid gate on ``max(1, in // 4)`` channels (EfficientNet), ``sefb``
squeeze-excite of the released FBNetV3 models (mobile-vision's ``sehsig`` with
``less_se_channels``): a squeeze with the block's activation and bias, and a hard-sigmoid gate,
on ``divisible_by(in // 4)`` channels (see :func:`divisible_by`). ``<act>`` is one of ``re`` (ReLU), ``r6``
(ReLU6), ``hs`` (hard-swish) or ``sw`` (SiLU/swish). The head is a 1x1 convolution (+ BN + act)
to ``C`` channels, global pooling, an optional hidden linear layer of ``F`` units with bias and
activation (MobileNetV3's classifier), and the classifier. FBNetV3's ``ir_pool`` head (1x1
conv to ``e * in`` + BN + act, global pooling, 1x1 conv + act) is ``head_c<e * in>_fc<F>_<act>``:
a 1x1 convolution of a pooled 1x1 map is a linear layer. Two biases differ from the released
models and change only the parameter count: mobile-vision's ``ir_pool`` 1x1 conv has none
(``IRPoolBlock``, ``bias=False``) where the hidden linear layer here has ``F``, and its stem
``conv_k3_hs`` is a default ``nn.Conv2d`` with a bias (stem width) where the stem here has none.
Example (torchvision's ``mobilenet_v2``)::

    res224 stem_k3_s2_c32_r6 ir_k3_e1_c16_r6 ir_k3_e6_c24_s2_n2_r6 ... head_c1280_r6

``Arch.parse(text)`` and ``str(arch)`` are inverses: ``str(Arch.parse(s)) == s`` for every
canonical string and ``Arch.parse(str(a)) == a`` for every architecture.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from optnas._errors import ConfigError

__all__ = [
    "ACTIVATIONS",
    "SE_VARIANTS",
    "Arch",
    "Block",
    "BlockSpec",
    "Head",
    "Stage",
    "Stem",
    "divisible_by",
    "make_divisible",
]

#: Activation tokens -> human-readable names (the builder maps them to torch modules).
ACTIVATIONS: dict[str, str] = {"re": "relu", "r6": "relu6", "hs": "hardswish", "sw": "silu"}
#: Squeeze-excite variants: ``se`` (MobileNetV3), ``seeff`` (EfficientNet) and ``sefb``
#: (the released FBNetV3 models).
SE_VARIANTS: tuple[str, ...] = ("se", "seeff", "sefb")


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to a multiple of ``divisor`` without going more than 10% below it.

    The rule of the MobileNet family (torchvision ``_make_divisible``), used for expanded widths.
    """
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def divisible_by(value: float, divisor: int = 8) -> int:
    """``value`` as a multiple of ``divisor``: mobile-vision's ``get_divisible_by``, the squeeze width
    rule of ``sefb``.

    A multiple of ``divisor`` is kept. Anything else goes to the nearest multiple, halves rounded
    up (at least one ``divisor``), and one ``divisor`` more when that falls below 95% of ``value``;
    the result is at least ``divisor``. So 10 -> 16, 18 -> 24, 26 -> 32 (not 8 / 16 / 24), while
    6 -> 8, 12 -> 16, 46 -> 48, 66 -> 64. :func:`make_divisible` (torchvision's
    ``_make_divisible``: one more only below 90%) differs, e.g. 26 -> 24 there.

    Source (facts only): facebookresearch/mobile-vision ``mobile_cv/arch/utils/helper.py``
    ``get_divisible_by`` (lines 17-27, the 95% step on lines 23-24), applied to the squeeze width by
    ``mobile_cv/arch/fbnet_v2/basic_blocks.py`` ``build_se`` with ``width_divisor`` 8
    (``fbnet_modeldef_cls_fbnetv3.py`` ``BASIC_ARGS``). The width it rounds is
    ``int(mid * 0.25 / expansion)`` (``irf_block.py`` ``IRFBlock.__init__``, ``se_ratio`` /
    ``less_se_channels``, lines 121-135), which is ``in // 4`` whenever the expanded width ``mid``
    is exactly ``in * expansion`` (every FBNetV3 block: widths are multiples of 8, ratios integers).
    """
    if value % divisor == 0:
        return max(divisor, int(value))
    new = max(1, math.floor(value / divisor + 0.5)) * divisor
    if new < 0.95 * value:
        new += divisor
    return max(divisor, new)


def _check_act(act: str, field_name: str) -> None:
    if act not in ACTIVATIONS:
        raise ConfigError(field_name, act, f"unknown activation; expected one of {sorted(ACTIVATIONS)}")


def _check_positive(value: int, field_name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(field_name, value, "must be a positive integer")


@dataclass(frozen=True)
class Block:
    """One inverted-residual block configuration (the repeated unit of a stage).

    Exactly one of ``expansion`` (ratio of the block's input channels) and ``expanded``
    (explicit expanded width) is set. ``padding`` is the depthwise convolution's padding
    (``None``: ``(kernel - 1) // 2``).
    """

    kernel: int
    out_channels: int
    stride: int = 1
    expansion: float | None = None
    expanded: int | None = None
    se: str | None = None
    act: str = "re"
    padding: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.kernel, bool) or not isinstance(self.kernel, int) or self.kernel < 1:
            raise ConfigError("kernel", self.kernel, "must be a positive odd integer")
        if self.kernel % 2 == 0:
            raise ConfigError("kernel", self.kernel, "must be odd")
        _check_positive(self.out_channels, "out_channels")
        _check_positive(self.stride, "stride")
        if (self.expansion is None) == (self.expanded is None):
            raise ConfigError("expansion", self.expansion, "set exactly one of expansion / expanded")
        if self.expansion is not None:
            if isinstance(self.expansion, bool) or not self.expansion > 0:
                raise ConfigError("expansion", self.expansion, "must be > 0")
            object.__setattr__(self, "expansion", float(self.expansion))
        if self.expanded is not None:
            _check_positive(self.expanded, "expanded")
        if self.se is not None and self.se not in SE_VARIANTS:
            raise ConfigError("se", self.se, f"unknown squeeze-excite variant; expected one of {SE_VARIANTS}")
        _check_act(self.act, "act")
        if self.padding is not None and (
            isinstance(self.padding, bool) or not isinstance(self.padding, int) or not 0 <= self.padding < self.kernel
        ):
            raise ConfigError("padding", self.padding, f"must be an integer in [0, kernel) = [0, {self.kernel})")

    def expanded_width(self, in_channels: int) -> int:
        """Width of the depthwise convolution for a given input width."""
        if self.expanded is not None:
            return self.expanded
        if self.expansion is None:  # unreachable: __post_init__ enforces one of the two
            raise ConfigError("expansion", None, "set exactly one of expansion / expanded")
        if self.expansion == 1.0:
            return in_channels
        return make_divisible(in_channels * self.expansion, 8)


@dataclass(frozen=True)
class Stage:
    """A block repeated ``repeats`` times; only the first repetition uses ``block.stride``."""

    block: Block
    repeats: int = 1

    def __post_init__(self) -> None:
        _check_positive(self.repeats, "repeats")


@dataclass(frozen=True)
class Stem:
    """The first convolution (3 input channels)."""

    out_channels: int
    kernel: int = 3
    stride: int = 2
    act: str = "hs"

    def __post_init__(self) -> None:
        _check_positive(self.out_channels, "stem.out_channels")
        _check_positive(self.kernel, "stem.kernel")
        if self.kernel % 2 == 0:
            raise ConfigError("stem.kernel", self.kernel, "must be odd")
        _check_positive(self.stride, "stem.stride")
        _check_act(self.act, "stem.act")


@dataclass(frozen=True)
class Head:
    """1x1 conv to ``channels``, global average pool, optional hidden linear layer ``fc``."""

    channels: int
    fc: int | None = None
    act: str = "hs"

    def __post_init__(self) -> None:
        _check_positive(self.channels, "head.channels")
        if self.fc is not None:
            _check_positive(self.fc, "head.fc")
        _check_act(self.act, "head.act")


@dataclass(frozen=True)
class BlockSpec:
    """A single, fully resolved block: what the builder and the cost model consume."""

    in_channels: int
    expanded: int
    out_channels: int
    kernel: int
    stride: int
    se: str | None
    act: str
    padding: int | None = None

    @property
    def pad(self) -> int:
        """The depthwise convolution's padding (``padding``, else ``(kernel - 1) // 2``)."""
        return (self.kernel - 1) // 2 if self.padding is None else self.padding

    def out_size(self, h: int) -> int:
        """Output height/width for an input of ``h``."""
        return (h + 2 * self.pad - self.kernel) // self.stride + 1

    @property
    def residual(self) -> bool:
        """Whether the block has an identity shortcut (stride 1, equal widths, same size)."""
        return self.stride == 1 and self.in_channels == self.out_channels and 2 * self.pad == self.kernel - 1


@dataclass(frozen=True)
class Arch:
    """A complete network: resolution, stem, stages of blocks and head."""

    resolution: int
    stem: Stem
    stages: tuple[Stage, ...]
    head: Head
    _blocks: tuple[BlockSpec, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _check_positive(self.resolution, "resolution")
        object.__setattr__(self, "stages", tuple(self.stages))
        if not self.stages:
            raise ConfigError("stages", self.stages, "an architecture needs at least one stage")
        blocks: list[BlockSpec] = []
        cin = self.stem.out_channels
        for stage in self.stages:
            b = stage.block
            for r in range(stage.repeats):
                blocks.append(
                    BlockSpec(
                        in_channels=cin,
                        expanded=b.expanded_width(cin),
                        out_channels=b.out_channels,
                        kernel=b.kernel,
                        stride=b.stride if r == 0 else 1,
                        se=b.se,
                        act=b.act,
                        padding=b.padding,
                    )
                )
                cin = b.out_channels
        object.__setattr__(self, "_blocks", tuple(blocks))
        total_stride = self.stem.stride * math.prod(s.block.stride for s in self.stages)
        if self.resolution < total_stride:
            raise ConfigError(
                "resolution",
                self.resolution,
                f"too small for the network's total stride {total_stride}",
            )
        h = (self.resolution + 2 * ((self.stem.kernel - 1) // 2) - self.stem.kernel) // self.stem.stride + 1
        for spec in blocks:
            h = spec.out_size(h)
            if h < 1:
                raise ConfigError("resolution", self.resolution, "too small: a block's output would be empty")

    @property
    def blocks(self) -> tuple[BlockSpec, ...]:
        """The resolved blocks, one per repetition, with their input widths."""
        return self._blocks

    @property
    def last_channels(self) -> int:
        """Width of the last block's output (the head's input)."""
        return self.stages[-1].block.out_channels

    def replace_resolution(self, resolution: int) -> Arch:
        """The same network at another input resolution."""
        return Arch(resolution, self.stem, self.stages, self.head)

    # --- text form ---------------------------------------------------------------------------

    def __str__(self) -> str:
        return " ".join(self._tokens())

    def _tokens(self) -> Iterator[str]:
        yield f"res{self.resolution}"
        s = self.stem
        yield f"stem_k{s.kernel}_s{s.stride}_c{s.out_channels}_{s.act}"
        for stage in self.stages:
            b = stage.block
            parts = ["ir", f"k{b.kernel}"]
            if b.expansion is not None:
                parts.append(f"e{_fmt_float(b.expansion)}")
            else:
                parts.append(f"x{b.expanded}")
            parts.append(f"c{b.out_channels}")
            if b.stride != 1:
                parts.append(f"s{b.stride}")
            if b.padding is not None:
                parts.append(f"p{b.padding}")
            if stage.repeats != 1:
                parts.append(f"n{stage.repeats}")
            if b.se is not None:
                parts.append(b.se)
            parts.append(b.act)
            yield "_".join(parts)
        h = self.head
        yield f"head_c{h.channels}" + (f"_fc{h.fc}" if h.fc is not None else "") + f"_{h.act}"

    @classmethod
    def parse(cls, text: str) -> Arch:
        """Parse the text form (see the module docstring for the grammar).

        Raises:
            ConfigError: naming the offending token.
        """
        if not isinstance(text, str):
            raise ConfigError("arch", text, "expected an architecture string")
        tokens = text.split()
        if len(tokens) < 4:
            raise ConfigError("arch", text, "expected 'res<R> stem_... ir_... [ir_...] head_...' (at least 4 tokens)")
        res_tok, stem_tok, *block_toks, head_tok = tokens
        if not res_tok.startswith("res") or not _is_uint(res_tok[3:]):
            raise ConfigError("arch token", res_tok, "expected the resolution token 'res<int>'")
        stem = _parse_stem(stem_tok)
        stages = tuple(_parse_stage(t) for t in block_toks)
        head = _parse_head(head_tok)
        try:
            return cls(int(res_tok[3:]), stem, stages, head)
        except ConfigError as exc:
            raise ConfigError("arch", text, str(exc)) from exc


def _fmt_float(x: float) -> str:
    text = repr(x)
    return text[:-2] if text.endswith(".0") else text


def _is_uint(text: str) -> bool:
    # str.isdigit() also accepts characters int() rejects, such as superscripts ("²").
    return text.isascii() and text.isdigit()


def _split(token: str, prefix: str) -> list[str]:
    parts = token.split("_")
    if parts[0] != prefix:
        raise ConfigError("arch token", token, f"expected a token starting with '{prefix}_'")
    return parts[1:]


def _int_field(token: str, part: str, letter: str) -> int:
    body = part[len(letter) :]
    if not _is_uint(body):
        raise ConfigError("arch token", token, f"bad field '{part}': '{letter}' needs an integer")
    return int(body)


def _parse_fields(token: str, parts: list[str], allowed: dict[str, str]) -> dict[str, str]:
    """Split ``parts`` into named fields. ``allowed`` maps field prefix -> field name."""
    out: dict[str, str] = {}
    for part in parts:
        if part in ACTIVATIONS:
            key = "act"
            value = part
        elif part in SE_VARIANTS and "se" in allowed.values():
            key = "se"
            value = part
        else:
            prefix = next((p for p in sorted(allowed, key=len, reverse=True) if part.startswith(p)), None)
            if prefix is None:
                raise ConfigError("arch token", token, f"unknown field '{part}'")
            key, value = allowed[prefix], part
        if key in out:
            raise ConfigError("arch token", token, f"field '{key}' given twice")
        out[key] = value
    if "act" not in out:
        raise ConfigError("arch token", token, f"missing activation (one of {sorted(ACTIVATIONS)})")
    return out


def _parse_stem(token: str) -> Stem:
    f = _parse_fields(token, _split(token, "stem"), {"k": "k", "s": "s", "c": "c"})
    if "c" not in f:
        raise ConfigError("arch token", token, "stem needs output channels 'c<int>'")
    try:
        return Stem(
            out_channels=_int_field(token, f["c"], "c"),
            kernel=_int_field(token, f["k"], "k") if "k" in f else 3,
            stride=_int_field(token, f["s"], "s") if "s" in f else 2,
            act=f["act"],
        )
    except ConfigError as exc:
        if exc.field == "arch token" and exc.value == token:
            raise  # already names the token
        raise ConfigError("arch token", token, str(exc)) from exc


def _parse_head(token: str) -> Head:
    f = _parse_fields(token, _split(token, "head"), {"c": "c", "fc": "fc"})
    if "c" not in f:
        raise ConfigError("arch token", token, "head needs channels 'c<int>'")
    try:
        return Head(
            channels=_int_field(token, f["c"], "c"),
            fc=_int_field(token, f["fc"], "fc") if "fc" in f else None,
            act=f["act"],
        )
    except ConfigError as exc:
        if exc.field == "arch token" and exc.value == token:
            raise  # already names the token
        raise ConfigError("arch token", token, str(exc)) from exc


def _parse_stage(token: str) -> Stage:
    allowed = {"k": "k", "e": "e", "x": "x", "c": "c", "s": "s", "p": "p", "n": "n", "se": "se"}
    f = _parse_fields(token, _split(token, "ir"), allowed)
    for need in ("k", "c"):
        if need not in f:
            raise ConfigError("arch token", token, f"block needs '{need}<int>'")
    if ("e" in f) == ("x" in f):
        raise ConfigError("arch token", token, "block needs exactly one of 'e<ratio>' and 'x<int>'")
    expansion: float | None = None
    if "e" in f:
        try:
            expansion = float(f["e"][1:])
        except ValueError:
            raise ConfigError("arch token", token, f"bad expansion '{f['e']}'") from None
        if not math.isfinite(expansion):
            raise ConfigError("arch token", token, f"bad expansion '{f['e']}'")
    try:
        block = Block(
            kernel=_int_field(token, f["k"], "k"),
            out_channels=_int_field(token, f["c"], "c"),
            stride=_int_field(token, f["s"], "s") if "s" in f else 1,
            expansion=expansion,
            expanded=_int_field(token, f["x"], "x") if "x" in f else None,
            se=f.get("se"),
            act=f["act"],
            padding=_int_field(token, f["p"], "p") if "p" in f else None,
        )
        return Stage(block, _int_field(token, f["n"], "n") if "n" in f else 1)
    except ConfigError as exc:
        if exc.field == "arch token" and exc.value == token:
            raise  # already names the token
        raise ConfigError("arch token", token, str(exc)) from exc
