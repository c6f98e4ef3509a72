"""An SB3 features extractor that reads the feedback: the dialog manager's response encoder, for any SB3 policy.

    from agents.sb3_features import FeedbackExtractor
    model = PPO("MultiInputPolicy", venv, policy_kwargs={"features_extractor_class": FeedbackExtractor})

SB3's default `MultiInputPolicy` flattens the observation's `feedback` (16 token ids, int64) into 16
floats, so nothing in it can tell one word from another. `FeedbackExtractor` embeds the ids instead,
with the text encoder of the paper's dialog manager (`agents.dialog_manager.ResponseEncoder`: word
embeddings, a width-2 convolution, max-pooling over the words), joined with a linear map of the shown
image's vector; the turn (one-hot, as SB3 gives a Discrete) is appended. It reads its sizes off the
observation space (the vocabulary from `feedback`'s bound, D from `candidate_features`), so its
keyword arguments are plain numbers and `agents.sb3.save_sb3` can write them as JSON.
"""

from __future__ import annotations

import torch
from gymnasium import spaces
from torch import nn

from simulators.extras import missing_extra

try:
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
except ImportError as err:
    raise missing_extra("stable-baselines3", "sb3", "agents.sb3_features (the feedback extractor)") from err

from agents.dialog_manager import DialogManagerConfig, ResponseEncoder


class FeedbackExtractor(BaseFeaturesExtractor):
    """(shown image's vector, feedback token ids, turn) -> `hidden_dim` + turns features.

    `image_scale` divides the image's vector before its linear map (the catalog's root-mean-square
    norm puts it near unit length; `agents.dialog_manager.feature_scale_of`).
    """

    def __init__(self, observation_space: spaces.Dict, hidden_dim: int = 128, embed_dim: int = 64,
                 image_scale: float = 1.0):
        if not isinstance(observation_space, spaces.Dict):
            raise ValueError(f"FeedbackExtractor reads a Dict observation, got {type(observation_space).__name__}")
        missing = [k for k in ("candidate_features", "feedback") if k not in observation_space.spaces]
        if missing:
            raise ValueError(f"FeedbackExtractor needs the observation keys {missing}")
        feedback = observation_space["feedback"]
        if not (isinstance(feedback, spaces.Box) and feedback.dtype == "int64"):
            raise ValueError(f"the feedback must be a Box of int64 token ids, got {feedback}")
        turn = observation_space.spaces.get("turn")
        turns = int(turn.n) if isinstance(turn, spaces.Discrete) else 0
        if not image_scale > 0:
            raise ValueError(f"image_scale must be positive, got {image_scale}")
        super().__init__(observation_space, features_dim=hidden_dim + turns)
        config = DialogManagerConfig(vocab_size=int(feedback.high.max()) + 1,
                                     feature_dim=int(observation_space["candidate_features"].shape[0]),
                                     hidden_dim=hidden_dim, embed_dim=embed_dim)
        self.response = ResponseEncoder(config)
        self.image_scale = float(image_scale)
        self.turns = turns

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        tokens = observations["feedback"].long()  # SB3 hands Box observations over as floats
        image = observations["candidate_features"] / self.image_scale
        out = self.response(image, tokens)
        if self.turns:
            out = torch.cat([out, observations["turn"].float().reshape(len(out), -1)], dim=1)
        return out


EXTRACTORS: dict[str, type[BaseFeaturesExtractor]] = {"FeedbackExtractor": FeedbackExtractor}
"""The extractors `agents.sb3.save_sb3` writes by name (a checkpoint never names code to import)."""
ACTIVATIONS: dict[str, type[nn.Module]] = {cls.__name__: cls for cls in (nn.Tanh, nn.ReLU, nn.GELU, nn.SiLU, nn.ELU)}
"""Activation functions a saved policy may name."""
