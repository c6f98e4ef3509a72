"""The relative captioner (Show, Attend and Tell over fused target/reference maps): the paper's user simulator."""

from simulators.captioner.checkpoint import CheckpointMismatchError, read_checkpoint
from simulators.captioner.model import FUSIONS, CaptionerConfig, RelativeCaptioner
from simulators.captioner.train import TrainConfig, train_captioner
from simulators.captioner.user import CaptionerUser, CaptionerUserConfig, load_captioner

__all__ = ["FUSIONS", "CaptionerConfig", "CaptionerUser", "CaptionerUserConfig", "CheckpointMismatchError",
           "RelativeCaptioner", "TrainConfig", "load_captioner", "read_checkpoint", "train_captioner"]
