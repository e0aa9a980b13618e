"""``optnas cost ARCH [--resolution R] [--num-classes N] [--json]``."""

from __future__ import annotations

import argparse
import json

from optnas._errors import ConfigError
from optnas.cost._count import count
from optnas.space import REFERENCES, TORCHVISION_MODELS, parse_arch

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments."""
    parser.add_argument(
        "arch",
        metavar="ARCH",
        help=(
            f"an architecture string (quote it), a reference name ({', '.join(REFERENCES)}) or "
            f"'torchvision:<model> [res<R>] [small]' with a model from {', '.join(TORCHVISION_MODELS)}"
        ),
    )
    parser.add_argument("--resolution", type=int, default=None, help="input resolution (default: the arch's)")
    parser.add_argument("--num-classes", type=int, default=1000, help="classifier width (default 1000)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    """Print the exact MACs and parameters."""
    text: str = args.arch
    arch = parse_arch(text)
    if args.resolution is not None:
        if args.resolution < 1:
            raise ConfigError("--resolution", args.resolution, "must be a positive integer")
        arch = arch.replace_resolution(args.resolution)
    if args.num_classes < 1:
        raise ConfigError("--num-classes", args.num_classes, "must be a positive integer")
    cost = count(arch, args.num_classes)
    if args.json:
        print(json.dumps({**cost.to_dict(), "arch": str(arch)}))
    else:
        print(f"arch        {arch}")
        print(f"resolution  {cost.resolution}")
        print(f"MACs        {cost.macs:,} ({cost.mflops:.1f} M)")
        print(f"params      {cost.params:,} ({cost.mparams:.3f} M)")
    return 0
