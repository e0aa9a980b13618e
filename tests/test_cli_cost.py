"""``optnas cost ARCH [--resolution R] [--num-classes N] [--json]``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from optnas.cli import main
from optnas.cost import count
from optnas.space import REFERENCES, Arch, reference


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "optnas", *args], capture_output=True, text=True, timeout=120)


def test_efficientnet_b0_json_in_a_subprocess() -> None:
    proc = _run("cost", "efficientnet_b0", "--resolution", "224", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["macs"] == 385_814_752
    assert data["params"] == 5_288_548
    assert data["resolution"] == 224
    assert data["num_classes"] == 1000
    assert data["arch"] == REFERENCES["efficientnet_b0"]


def test_bad_arch_in_a_subprocess_is_one_line_exit_2() -> None:
    proc = _run("cost", "res224 stem_k3_s2_c16_hs ir_k4_e1_c16_hs head_c64_hs", "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("optnas: error: ")
    assert "ir_k4_e1_c16_hs" in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("name", "macs", "params"),
    [
        ("mobilenet_v2", 300_774_272, 3_504_872),
        ("mobilenet_v3_large", 216_589_760, 5_483_032),
        ("efficientnet_b0", 385_814_752, 5_288_548),
    ],
)
def test_references_via_main(name: str, macs: int, params: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", name, "--resolution", "224", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["macs"], data["params"]) == (macs, params)
    # the same network given as a string
    assert main(["cost", REFERENCES[name], "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == data


def test_options_via_main(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "fbnetv3_a", "--resolution", "160", "--num-classes", "10", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = count(reference("fbnetv3_a", 160), 10)
    assert data == {**expected.to_dict(), "arch": str(reference("fbnetv3_a", 160))}
    assert data["resolution"] == 160 and data["num_classes"] == 10


def test_text_output_via_main(capsys: pytest.CaptureFixture[str]) -> None:
    text = "res32 stem_k3_s1_c8_hs ir_k3_e2_c16_s2_n2_se_hs head_c64_hs"
    assert main(["cost", text]) == 0
    out = capsys.readouterr().out.splitlines()
    cost = count(Arch.parse(text))
    assert out[0].split(None, 1) == ["arch", text]
    assert out[1].split() == ["resolution", "32"]
    assert out[2].split()[:2] == ["MACs", f"{cost.macs:,}"]
    assert out[3].split()[:2] == ["params", f"{cost.params:,}"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["cost", "res224 stem_k3_s2_c16_hs ir_k3_e1_c16_zz_hs head_c64_hs"], "ir_k3_e1_c16_zz_hs"),
        (["cost", "resnet50"], "'resnet50'"),
        (["cost", "mobilenet_v2", "--resolution", "0"], "--resolution=0"),
        (["cost", "mobilenet_v2", "--resolution", "16"], "resolution=16"),
        (["cost", "mobilenet_v2", "--num-classes", "0"], "--num-classes=0"),
    ],
)
def test_errors_via_main(args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("optnas: error: ")
    assert needle in lines[0]
    assert "Traceback" not in captured.err


def test_torchvision_classifier_cost(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "torchvision:resnet18", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["macs"], data["params"]) == (1_814_073_344, 11_689_512)  # torchvision's resnet18 metadata
    assert data["arch"] == "torchvision:resnet18 res224"
    assert main(["cost", "torchvision:resnet18 small", "--resolution", "32", "--num-classes", "10", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["macs"], data["params"], data["arch"]) == (555_422_720, 11_173_962, "torchvision:resnet18 res32 small")
    proc = _run("cost", "torchvision:vgg11")
    assert proc.returncode == 2 and "vgg11" in proc.stderr and "Traceback" not in proc.stderr
