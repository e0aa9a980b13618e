"""OptunaHub package: FBNetV3's joint architecture + training-recipe search sampler (from optnas)."""

from optnas.samplers import JointNASSampler

__all__ = ["JointNASSampler"]
