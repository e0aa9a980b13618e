"""``TorchvisionArch``: a torchvision classifier as AutoTrain's fixed architecture (text form, space)."""

from __future__ import annotations

import pytest

from optnas import ConfigError
from optnas.space import TORCHVISION_MODELS, Arch, JointSpace, TorchvisionArch, parse_arch, preset, reference


@pytest.mark.parametrize("model", sorted(TORCHVISION_MODELS))
@pytest.mark.parametrize(("res", "small"), [(224, False), (32, True), (64, False)])
def test_text_form_round_trips(model: str, res: int, small: bool) -> None:
    arch = TorchvisionArch(model, res, small)
    text = str(arch)
    assert text == f"torchvision:{model} res{res}" + (" small" if small else "")
    assert TorchvisionArch.parse(text) == arch
    assert parse_arch(text) == arch
    assert parse_arch(f"  torchvision:{model}{' small' if small else ''} res{res} ") == arch  # token order free


def test_defaults_and_dispatch() -> None:
    assert TorchvisionArch.parse("torchvision:resnet18") == TorchvisionArch("resnet18", 224, False)
    assert parse_arch("mobilenet_v2") == reference("mobilenet_v2")  # optnas's own reference
    assert isinstance(parse_arch(str(reference("efficientnet_b0"))), Arch)
    assert TorchvisionArch("resnet18", 32, True).total_stride == 8
    assert TorchvisionArch("resnet18", 224).total_stride == 32
    assert TorchvisionArch("mobilenet_v3_small", 32, True).total_stride == 16
    assert TorchvisionArch("resnet18", 32, True).replace_resolution(48) == TorchvisionArch("resnet18", 48, True)


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("torchvision:vgg11", "arch", "torchvision:vgg11"),
        ("torchvision:resnet18 res32 res64", "arch token", "res64"),
        ("torchvision:resnet18 tiny", "arch token", "tiny"),
        ("torchvision:resnet18 small small", "arch token", "small"),
        ("torchvision:resnet18 res16", "resolution", 16),  # below the total stride 32
        ("torchvision:resnet18 res0 small", "resolution", 0),
    ],
)
def test_bad_text_names_the_token(text: str, field: str, value: object) -> None:
    with pytest.raises(ConfigError) as err:
        parse_arch(text)
    assert (err.value.field, err.value.value) == (field, value)


def test_constructor_validates_its_fields() -> None:
    with pytest.raises(ConfigError) as err:
        TorchvisionArch("resnet18", 32, "yes")  # type: ignore[arg-type]
    assert (err.value.field, err.value.value) == ("small", "yes")
    with pytest.raises(ConfigError) as err:
        TorchvisionArch("resnet18", 32.0)  # type: ignore[arg-type]
    assert err.value.field == "resolution"


def test_recipe_only_fixes_stochastic_depth_where_the_network_has_none() -> None:
    space = preset("fbnetv3")  # stochastic depth range (0.1, 0.2): 0 is outside it
    resnet = space.recipe_only(TorchvisionArch("resnet18", 224))
    assert "stochastic_depth" not in resnet.names
    assert resnet.fixed_values()["stochastic_depth"] == 0.0
    assert {d.part for d in resnet.dims} == {"recipe"}
    _, recipe = resnet.decode_params(resnet.to_params(resnet.sample(1, 0)[0]))
    assert recipe.stochastic_depth == 0.0
    # EfficientNet applies it (stochastic_depth_prob): it stays searched.
    effnet = space.recipe_only(TorchvisionArch("efficientnet_b0", 224))
    assert "stochastic_depth" in effnet.names


def test_a_nonzero_stochastic_depth_is_refused_for_a_network_without_it() -> None:
    fixed = preset("cifar").fix(stochastic_depth=0.1)
    # recipe_only keeps the user's recipe values, and 0.1 cannot apply to a ResNet.
    with pytest.raises(ConfigError) as err:
        fixed.recipe_only(TorchvisionArch("resnet18", 32, True))
    assert (err.value.field, err.value.value) == ("stochastic_depth", 0.1)
    space = preset("cifar").recipe_only(TorchvisionArch("resnet18", 32, True))
    with pytest.raises(ConfigError) as err:
        space.fix(stochastic_depth=0.1)
    assert err.value.field == "stochastic_depth"


def test_space_with_a_torchvision_arch_round_trips_through_its_dict() -> None:
    space = preset("cifar").recipe_only(TorchvisionArch("mobilenet_v3_small", 32, True))
    again = JointSpace.from_dict(space.to_dict())
    assert again == space
    assert again.fixed_arch == TorchvisionArch("mobilenet_v3_small", 32, True)
    assert again.fingerprint() == space.fingerprint()
