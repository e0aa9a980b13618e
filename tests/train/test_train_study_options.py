"""The study-file side of the training options: [train] num_workers/precision/channels_last, --device."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from optnas import ConfigError
from optnas.cli import main
from optnas.studies import parse_study

BASE = {"study": {"kind": "jointnas", "name": "t"}, "space": {"preset": "digits"}}


def test_train_options_parse() -> None:
    config = parse_study(BASE | {"train": {"num_workers": 2, "precision": "bf16", "channels_last": True}})
    assert (config.train.num_workers, config.train.precision, config.train.channels_last) == (2, "bf16", True)
    assert dict(config.train) == {"num_workers": 2, "precision": "bf16", "channels_last": True}


@pytest.mark.parametrize(
    ("key", "value"),
    [("num_workers", -1), ("num_workers", 1.5), ("precision", "fp8"), ("precision", 16), ("channels_last", "yes")],
)
def test_bad_train_options_name_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as err:
        parse_study(BASE | {"train": {key: value}})
    assert err.value.field == f"train.{key}"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_flag_overrides_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "s.toml"
    study.write_text('[study]\nkind = "jointnas"\nname = "t"\n[space]\npreset = "digits"\n[train]\ndevice = "cpu"\n')
    code = main(["run", str(study), "--storage", f"sqlite:///{tmp_path / 's.db'}", "--device", "cuda:1"])
    err = capsys.readouterr().err
    assert code != 0 and "--device='cuda:1'" in err and "CUDA is not available" in err  # the flag the user typed
    assert not (tmp_path / "s.db").exists() or (tmp_path / "s.db").stat().st_size == 0
