"""Every key optnas writes into Optuna storage, in one place.

Sampler state lives in storage (DESIGN.md): study and trial system attributes for the
samplers' protocol, user attributes for what users and optuna-dashboard read. A key that is
written in one module and read in another is defined here only, so the layout of stored
studies can be read (and changed) in one file.
"""

from __future__ import annotations

__all__ = [
    "ARTIFACT_ATTR",
    "CLASSES_ATTR",
    "CONFIG_ATTR",
    "CONSTRAINT_PREFIX",
    "ERROR_ATTR",
    "ES_ATTR",
    "FAILURES_ATTR",
    "INTERRUPTS_ATTR",
    "JOINTNAS_PICK",
    "JOINTNAS_PLAN",
    "JOINTNAS_POSITION",
    "JOINTNAS_SEED",
    "JOINTNAS_WORKER",
    "KIND_ATTR",
    "LATENCY_ATTR",
    "PREDICTOR_ATTR",
    "ROLLOUT_KEY",
    "SPACE_ATTR",
    "WEIGHTS_ATTR",
    "WORKER_ATTR",
]

# --- JointNASSampler (trial and study system attributes) -------------------------------------
#: A trial's plan position: the number of sampler-driven trials created before it.
JOINTNAS_POSITION = "jointnas:position"
#: The worker (host:pid:thread) running a trial (a retry records its own).
JOINTNAS_WORKER = "jointnas:worker"
#: Study attribute prefix of a stored plan: only the space-filling first batch (``jointnas:plan:0``).
JOINTNAS_PLAN = "jointnas:plan:"
#: A trial's candidate (values, exact costs, predicted score), recorded when it is picked.
JOINTNAS_PICK = "jointnas:pick"
#: The study's proposal seed.
JOINTNAS_SEED = "jointnas:seed"
#: System-attribute prefix of Optuna's ``trial.set_constraint`` values.
CONSTRAINT_PREFIX = "constraints:"

# --- PPOSampler ------------------------------------------------------------------------------
#: Trial system attribute holding a rollout (actions and log-probabilities).
ROLLOUT_KEY = "ppo:rollout"

# --- study user attributes -------------------------------------------------------------------
#: The early-stopping epoch budget JointNAS determined from its first batch.
ES_ATTR = "early_stopping_epochs"
#: The JointSpace of the study (what ``evolve`` refits on).
SPACE_ATTR = "optnas:space"
#: Classifier width of the study's networks.
CLASSES_ATTR = "optnas:num_classes"
#: The stored predictor artifact.
PREDICTOR_ATTR = "optnas:predictor"
#: The stored latency table artifact.
LATENCY_ATTR = "optnas:latency_table"
#: The artifact directory of a study run from a study file.
ARTIFACT_ATTR = "optnas:artifacts"
#: The study kind (jointnas, autotrain, autoaugment, randaugment).
KIND_ATTR = "optnas:kind"
#: The parsed study file.
CONFIG_ATTR = "optnas:config"

# --- trial attributes of the study runner ----------------------------------------------------
#: The worker that ran a trial.
WORKER_ATTR = "optnas:worker"
#: How many times a trial's candidate failed.
FAILURES_ATTR = "optnas:failures"
#: How many times a trial's candidate was interrupted (Ctrl-C).
INTERRUPTS_ATTR = "optnas:interrupts"
#: The error of a failed trial.
ERROR_ATTR = "error"
#: The artifact id of a trial's trained weights.
WEIGHTS_ATTR = "weights_artifact"
