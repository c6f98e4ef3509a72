"""The relative captioner: Show, Attend and Tell over the fused spatial maps of a target and a reference.

The paper's user simulator (Guo et al. 2018, Sec. 4.2): the CNN maps of the target image and of
the image the system showed are fused by concatenating their channels at each location; an LSTM
decoder attends softly over the fused locations at every word (Xu et al. 2015) and writes the
shopper's relative caption over the corpus vocabulary, up to `max_len` tokens. Decoding is batched:
greedy, beam search, or sampling from per-row generators.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from simulators.language.vocab import BOS_ID, EOS_ID, MAX_LEN, PAD_ID, UNK_ID

FUSIONS: tuple[str, ...] = ("concat", "difference", "concat-difference")
"""How target (t) and reference (r) maps meet at each location: [t, r] (the paper's), t - r, or [t, r, t - r]."""

Colours = tuple[torch.Tensor, torch.Tensor] | None
"""(target (B, K), reference (B, K)) colour histograms, for a captioner with colour_dim K; None without."""


@dataclass(frozen=True)
class CaptionerConfig:
    """Architecture of a RelativeCaptioner; the data fields (vocabulary, map shape) come from the catalog."""

    fusion: str = "concat"
    """One of FUSIONS."""
    embed_dim: int = 128
    """Word embedding size, also the size of the deep output layer."""
    hidden_dim: int = 256
    """LSTM state size (the paper's hidden size)."""
    attention_dim: int = 128
    """Size of the attention MLP."""
    dropout: float = 0.3
    """Dropout before the output layer and on the whole-map summaries (training only)."""
    global_dim: int = 256
    """0: plain Show, Attend and Tell (the LSTM starts from the mean annotation). > 0: one shared Linear + ReLU
    reads each image's whole map (all locations at once) into a vector of this size; the pair of vectors starts
    the LSTM and is offered to attention as one extra location, so naming what the whole shoe is (its colour,
    its category) does not hinge on attending to one location."""
    colour_output: bool = True
    """With colour histograms: they also reach the output layer at every word, through a gate read from the LSTM
    state (the histograms decide which colour word, the state whether one is said now)."""
    max_len: int = MAX_LEN
    """Longest caption in tokens, <eos> included (the environment pads feedback to 16)."""
    vocab_size: int = field(default=0, metadata={"cli": False})
    """Words of the vocabulary, special tokens included (0 until `for_data` fills it in)."""
    channels: int = field(default=0, metadata={"cli": False})
    """Channels C per location of one image's spatial map (from the catalog)."""
    locations: int = field(default=0, metadata={"cli": False})
    """Locations S of one image's spatial map, h * w (from the catalog)."""
    colour_dim: int = field(default=0, metadata={"cli": False})
    """Length K of each image's colour histogram read beside its maps (`simulators.catalog.histograms`); 0: the
    captioner reads the CNN maps only. Needs global_dim > 0: the histogram enters through the whole-map summary."""

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        for name in ("embed_dim", "hidden_dim", "attention_dim", "max_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("vocab_size", "channels", "locations", "colour_dim"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (0: not yet known), got {getattr(self, name)}")
        if self.global_dim < 0:
            raise ValueError(f"global_dim must be >= 0, got {self.global_dim}")
        if self.colour_dim and not self.global_dim:
            raise ValueError("colour histograms (colour_dim > 0) enter through the whole-map summary; "
                             "they need global_dim > 0")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def fused_channels(self) -> int:
        return {"concat": 2, "difference": 1, "concat-difference": 3}[self.fusion] * self.channels

    def to_dict(self) -> dict:
        return asdict(self)

    def for_data(self, vocab_size: int, channels: int, locations: int, colour_dim: int = 0) -> CaptionerConfig:
        """This architecture over a vocabulary of `vocab_size` words, (locations, channels) spatial maps and
        colour histograms of `colour_dim` bins (0: none)."""
        return replace(self, vocab_size=vocab_size, channels=channels, locations=locations, colour_dim=colour_dim)


class RelativeCaptioner(nn.Module):
    """Fused spatial maps of (target, reference) in, relative-caption token ids out.

    Maps are the catalog's `spatial` rows, (B, S, C) each; they are standardised with per-channel
    statistics of the training items (buffers saved with the weights), fused, and tagged with a
    learned per-location embedding so attention knows where on the shoe it looks. With `global_dim`
    a whole-map summary of both images is one more location to attend to (S' = S + 1); with
    `colour_dim` each image's colour histogram (B, K) joins its whole-map summary (the `colours`
    argument of the methods below: a (target, reference) pair of histograms).
    """

    def __init__(self, config: CaptionerConfig):
        super().__init__()
        if min(config.vocab_size, config.channels, config.locations) < 1:
            raise ValueError("the config's data fields (vocab_size, channels, locations) are not filled in; "
                             "use CaptionerConfig.for_data")
        self.config = config
        c, f = config.channels, config.fused_channels
        self.register_buffer("feature_mean", torch.zeros(c))
        self.register_buffer("feature_std", torch.ones(c))
        self.location = nn.Parameter(torch.zeros(config.locations, config.fused_channels))
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=PAD_ID)
        if config.global_dim:
            self.glimpse = nn.Linear(config.locations * c, config.global_dim)
            self.global_slot = nn.Linear(2 * config.global_dim, f)
        else:
            self.glimpse = self.global_slot = None
        self.colour_glimpse = nn.Linear(config.colour_dim, config.global_dim) if config.colour_dim else None
        if config.colour_dim and config.colour_output:
            self.colour_words = nn.Linear(2 * config.colour_dim, config.embed_dim)
            self.colour_gate = nn.Linear(config.hidden_dim, config.embed_dim)
        else:
            self.colour_words = self.colour_gate = None
        summary = 2 * config.global_dim if config.global_dim else f
        self.init_h = nn.Linear(summary, config.hidden_dim)
        self.init_c = nn.Linear(summary, config.hidden_dim)
        self.att_features = nn.Linear(f, config.attention_dim)
        self.att_hidden = nn.Linear(config.hidden_dim, config.attention_dim)
        self.att_score = nn.Linear(config.attention_dim, 1)
        self.gate = nn.Linear(config.hidden_dim, f)
        self.lstm = nn.LSTMCell(config.embed_dim + f, config.hidden_dim)  # holds the weights; `step` runs the cell
        self.out_hidden = nn.Linear(config.hidden_dim, config.embed_dim)
        self.out_context = nn.Linear(f, config.embed_dim)
        self.out_words = nn.Linear(config.embed_dim, config.vocab_size)
        self.drop = nn.Dropout(config.dropout)
        nn.init.normal_(self.location, std=0.02)
        self._inference_cache: tuple | None = None

    # -- encoder ----------------------------------------------------------------------------------

    def set_feature_stats(self, mean: np.ndarray | torch.Tensor, std: np.ndarray | torch.Tensor) -> None:
        """Per-channel standardisation of the spatial maps (computed on training items)."""
        self.feature_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.feature_std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp_min(1e-6))

    def fuse(self, target_maps: torch.Tensor, reference_maps: torch.Tensor, colours: Colours = None) -> torch.Tensor:
        """(B, S, C) maps of targets and references -> (B, S, F) annotation vectors (without the global slot)."""
        return self._encode(target_maps, reference_maps, colours)[0][:, : self.config.locations]

    def _encode(self, target_maps: torch.Tensor, reference_maps: torch.Tensor,
                colours: Colours = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(annotations (B, S or S+1, F), summary (B, *) that starts the LSTM)."""
        if (colours is None) != (self.colour_glimpse is None):
            raise ValueError(f"this captioner reads colour histograms of {self.config.colour_dim} bins; pass "
                             "colours=(target, reference)" if colours is None else
                             "this captioner reads no colour histograms (colour_dim 0); got colours")
        t = (target_maps.float() - self.feature_mean) / self.feature_std  # (B, S, C)
        r = (reference_maps.float() - self.feature_mean) / self.feature_std
        if self.config.fusion == "concat":
            fused = torch.cat([t, r], dim=-1)  # (B, S, 2C)
        elif self.config.fusion == "difference":
            fused = t - r  # (B, S, C)
        else:
            fused = torch.cat([t, r, t - r], dim=-1)  # (B, S, 3C)
        annotations = fused + self.location  # (B, S, F)
        if self.glimpse is not None:
            b = t.shape[0]
            both = self.glimpse(torch.cat([t, r]).flatten(1))  # (2B, G): one layer for both images
            if self.colour_glimpse is not None:
                both = both + self.colour_glimpse(torch.cat([colours[0], colours[1]]).float())  # (2B, K) -> (2B, G)
            both = torch.relu(both)
            summary = self.drop(torch.cat([both[:b], both[b:]], dim=1))  # (B, 2G)
            slot = self.global_slot(summary)  # (B, F)
            return torch.cat([annotations, slot.unsqueeze(1)], dim=1), summary  # (B, S+1, F)
        return annotations, annotations.mean(dim=1)  # (B, F)

    # -- one decoder step ---------------------------------------------------------------------------

    def fused_weights(self) -> _FusedWeights:
        """The step's matrices stacked by the input they read, so a step is three matrix products.

        Everything that reads h (the output layer for this word; attention, gate and LSTM recurrence
        for the next) is one product, everything that reads the context is another, and the word
        embedding's share of the LSTM input is precomputed. Differentiable: training uses it too.
        """
        e, h = self.config.embed_dim, self.config.hidden_dim
        lstm = self.lstm
        zeros = torch.zeros(4 * h, device=lstm.weight_ih.device)
        colour_gate = [] if self.colour_gate is None else [self.colour_gate]  # the output layer's colour gate
        return _FusedWeights(
            h_weight=torch.cat([self.out_hidden.weight, self.att_hidden.weight, self.gate.weight, lstm.weight_hh,
                                *(m.weight for m in colour_gate)]),
            h_bias=torch.cat([self.out_hidden.bias, self.att_hidden.bias, self.gate.bias, lstm.bias_hh + lstm.bias_ih,
                              *(m.bias for m in colour_gate)]),
            z_weight=torch.cat([lstm.weight_ih[:, e:], self.out_context.weight]),
            z_bias=torch.cat([zeros, self.out_context.bias]),
            word_weight=lstm.weight_ih[:, :e],
            split=(e, self.config.attention_dim, self.config.fused_channels, 4 * h),
        )

    def step(self, emb: torch.Tensor, emb_gates: torch.Tensor, hh: torch.Tensor, c: torch.Tensor,
             annotations: torch.Tensor, projected: torch.Tensor, w: _FusedWeights,
             colour_out: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One word. emb (B, E) and emb_gates (B, 4H) of the previous word; hh = h_weight @ h_prev (B, E+A+F+4H);
        colour_out (B, E) the colour histograms' share of the output layer (with colour_output).

        Returns (logits (B, V), hh of the new h, c (B, H), attention weights (B, S)).
        """
        e, a, f, g = w.split
        att_h, gate_h, gates_h = hh[:, e : e + a + f + g].split((a, f, g), dim=1)
        scores = self.att_score(torch.tanh(projected + att_h.unsqueeze(1))).squeeze(-1)  # (B, S)
        alpha = torch.softmax(scores, dim=-1)  # (B, S)
        context = torch.bmm(alpha.unsqueeze(1), annotations).squeeze(1) * torch.sigmoid(gate_h)  # (B, F)
        zz = torch.addmm(w.z_bias, context, w.z_weight.t())  # (B, 4H + E)
        gates = gates_h + zz[:, :g] + emb_gates  # (B, 4H), LSTMCell's gate order i, f, g, o
        i, f_, g_, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f_) * c + torch.sigmoid(i) * torch.tanh(g_)  # (B, H)
        h = torch.sigmoid(o) * torch.tanh(c)
        hh = torch.addmm(w.h_bias, h, w.h_weight.t())  # (B, E+A+F+4H [+E])
        deep = emb + hh[:, :e] + zz[:, g:]  # (B, E): SAT's deep output E y + L_h h + L_z z
        if colour_out is not None:
            deep = deep + torch.sigmoid(hh[:, e + a + f + g :]) * colour_out  # the colour gate read from h
        return self.out_words(self.drop(deep)), hh, c, alpha

    def _start(self, target_maps: torch.Tensor, reference_maps: torch.Tensor, w: _FusedWeights,
               colours: Colours = None) -> tuple[torch.Tensor, ...]:
        """(annotations (B, S', F), projected (B, S', A), hh (B, E+A+F+4H), c (B, H), colour_out (B, E) or None)
        before the first word."""
        annotations, summary = self._encode(target_maps, reference_maps, colours)
        h, c = torch.tanh(self.init_h(summary)), torch.tanh(self.init_c(summary))  # (B, H) each
        colour_out = None
        if self.colour_words is not None:
            colour_out = self.colour_words(torch.cat([colours[0], colours[1]], dim=1).float())  # (B, E)
        return annotations, self.att_features(annotations), torch.addmm(w.h_bias, h, w.h_weight.t()), c, colour_out

    # -- training -------------------------------------------------------------------------------------

    def forward(self, target_maps: torch.Tensor, reference_maps: torch.Tensor,
                inputs: torch.Tensor, colours: Colours = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: inputs (B, T) start with <bos>; returns logits (B, T, V) and attention (B, T, S')."""
        w = self.fused_weights()
        annotations, projected, hh, c, colour_out = self._start(target_maps, reference_maps, w, colours)
        emb = self.embed(inputs)  # (B, T, E)
        emb_gates = emb @ w.word_weight.t()  # (B, T, 4H)
        logits, alphas = [], []
        for t in range(inputs.shape[1]):
            step_logits, hh, c, alpha = self.step(emb[:, t], emb_gates[:, t], hh, c, annotations, projected, w,
                                                  colour_out)
            logits.append(step_logits)
            alphas.append(alpha)
        return torch.stack(logits, dim=1), torch.stack(alphas, dim=1)

    # -- decoding ---------------------------------------------------------------------------------------

    def _inference_weights(self) -> tuple[_FusedWeights, torch.Tensor]:
        """Fused weights and the (V, 4H) table of every word's LSTM input share, cached until a parameter changes."""
        key = tuple((p.data_ptr(), p._version) for p in self.parameters())
        if self._inference_cache is None or self._inference_cache[0] != key:
            with torch.no_grad():
                w = self.fused_weights()
                self._inference_cache = (key, w, self.embed.weight @ w.word_weight.t())
        return self._inference_cache[1], self._inference_cache[2]

    @torch.inference_mode()
    def greedy(self, target_maps: torch.Tensor, reference_maps: torch.Tensor,
               uniforms: torch.Tensor | None = None, temperature: float = 1.0, colours: Colours = None,
               top_p: float = 1.0) -> torch.Tensor:
        """(B, max_len) token ids, <eos> then <pad> after each caption's end.

        Greedy (argmax) by default. With `uniforms` (B, max_len) in [0, 1), each row instead samples
        its words by inverse CDF from its own numbers, so a row's caption depends only on its own draws;
        `temperature` divides the logits, and with `top_p` < 1 only the most probable words whose
        probabilities reach `top_p` together can be drawn (nucleus sampling).
        Rows that have ended are dropped from the batch, so the cost follows the mean caption length.
        """
        b, max_len, dev = target_maps.shape[0], self.config.max_len, target_maps.device
        w, word_table = self._inference_weights()
        annotations, projected, hh, c, colour_out = self._start(target_maps, reference_maps, w, colours)
        words = torch.full((b,), BOS_ID, dtype=torch.long, device=dev)
        out = torch.full((b, max_len), PAD_ID, dtype=torch.long, device=dev)
        active = torch.arange(b, device=dev)  # original rows still writing
        never = [PAD_ID, BOS_ID] + [UNK_ID] * (uniforms is not None)  # a sampler could draw <unk>: a user never says it
        banned = torch.tensor(never, device=dev)
        banned_first = torch.tensor([*never, EOS_ID], device=dev)  # at least one word
        for t in range(max_len):
            logits, hh, c, _ = self.step(self.embed(words), word_table[words], hh, c, annotations, projected, w,
                                         colour_out)
            logits.index_fill_(1, banned if t else banned_first, float("-inf"))  # (B', V)
            if t == max_len - 1:
                words = torch.full_like(words, EOS_ID)  # a caption that runs to the limit still ends
            elif uniforms is None:
                words = logits.argmax(dim=-1)  # (B',)
            else:
                probs = torch.softmax(logits / temperature, dim=-1)  # (B', V)
                if top_p < 1.0:
                    ordered, order = probs.sort(dim=-1, descending=True)
                    outside = ordered.cumsum(dim=-1) - ordered >= top_p  # words after the nucleus is full
                    probs = probs.scatter(1, order, ordered.masked_fill(outside, 0.0))
                cdf = probs.cumsum(dim=-1)
                u = uniforms[active, t : t + 1].to(cdf) * cdf[:, -1:]
                words = torch.searchsorted(cdf, u).squeeze(1).clamp_max(logits.shape[1] - 1)
            out[active, t] = words
            going = words != EOS_ID
            if not bool(going.any()):
                break
            if not bool(going.all()):
                keep = going.nonzero().squeeze(1)
                active, words, hh, c = active[keep], words[keep], hh[keep], c[keep]
                annotations, projected = annotations[keep], projected[keep]
                colour_out = None if colour_out is None else colour_out[keep]
        return out

    @torch.inference_mode()
    def beam_search(self, target_maps: torch.Tensor, reference_maps: torch.Tensor, beam_size: int = 3,
                    length_penalty: float = 0.0, colours: Colours = None) -> torch.Tensor:
        """(B, max_len) token ids of the best beam per row, batched over rows and beams.

        Scores are summed log-probabilities divided by length ** length_penalty (0: no normalisation).
        The images are encoded once per row, and a step runs only the beams still writing (one per
        row at the first word), so the cost follows the beams' lengths, as greedy's does.
        """
        if beam_size < 1:
            raise ValueError(f"beam_size must be at least 1, got {beam_size}")
        b, k, max_len, v = target_maps.shape[0], beam_size, self.config.max_len, self.config.vocab_size
        dev = target_maps.device
        w, word_table = self._inference_weights()
        annotations, projected, hh, c, colour_out = self._start(target_maps, reference_maps, w, colours)  # B rows
        hh, c = hh.repeat_interleave(k, dim=0), c.repeat_interleave(k, dim=0)  # beam j of row i is row i*K + j
        words = torch.full((b * k,), BOS_ID, dtype=torch.long, device=dev)
        seqs = torch.full((b * k, max_len), PAD_ID, dtype=torch.long, device=dev)
        scores = torch.full((b, k), float("-inf"), device=dev)
        scores[:, 0] = 0.0  # all beams start identical: keep one alive
        scores = scores.reshape(-1)  # (B*K,)
        lengths = torch.zeros(b * k, device=dev)
        done = torch.zeros(b * k, dtype=torch.bool, device=dev)
        offsets = (torch.arange(b, device=dev) * k).unsqueeze(1)  # (B, 1)
        finished_row = torch.full((v,), float("-inf"), device=dev)
        finished_row[PAD_ID] = 0.0  # a finished beam carries on only as itself, at no cost
        only_eos = torch.full((v,), float("-inf"), device=dev)
        only_eos[EOS_ID] = 0.0
        for t in range(max_len):
            live = (~done & (scores > float("-inf"))).nonzero().squeeze(1)  # beams still writing
            rows = live // k  # their images
            logits, hh_live, c_live, _ = self.step(
                self.embed(words[live]), word_table[words[live]], hh[live], c[live], annotations[rows],
                projected[rows], w, None if colour_out is None else colour_out[rows])
            step_logp = torch.log_softmax(logits.float(), dim=-1)  # (live, V)
            step_logp[:, PAD_ID] = step_logp[:, BOS_ID] = float("-inf")
            if t == max_len - 1:
                step_logp = step_logp + only_eos  # a caption that runs to the limit still ends
            elif t == 0:
                step_logp[:, EOS_ID] = float("-inf")  # at least one word
            logp = finished_row.expand(b * k, v).clone()  # finished beams (and the unborn ones, at -inf)
            logp[live] = step_logp
            hh[live], c[live] = hh_live, c_live
            total = (scores.unsqueeze(1) + logp).reshape(b, k * v)  # (B, K*V)
            new_len = lengths + (~done).float()  # (B*K,)
            ranked = total
            if length_penalty:
                ranked = (total.reshape(b, k, v) / new_len.clamp_min(1).pow(length_penalty).reshape(b, k, 1)
                          ).reshape(b, k * v)
            top = ranked.topk(k, dim=1).indices  # (B, K)
            parent = (offsets + top // v).reshape(-1)  # (B*K,)
            words = (top % v).reshape(-1)
            scores = total.gather(1, top).reshape(-1)
            hh, c, seqs, lengths, done = hh[parent], c[parent], seqs[parent], new_len[parent], done[parent]
            seqs[:, t] = words
            done = done | (words == EOS_ID)
            if bool(done.all()):
                break
        final = scores / lengths.clamp_min(1).pow(length_penalty) if length_penalty else scores
        best = final.reshape(b, k).argmax(dim=1) + offsets.squeeze(1)  # (B,)
        return seqs[best]


class _FusedWeights(NamedTuple):
    h_weight: torch.Tensor
    """(E + A + F + 4H [+ E], H): output layer, attention, gate, LSTM recurrence [, colour gate], all reading h."""
    h_bias: torch.Tensor
    z_weight: torch.Tensor
    """(4H + E, F): LSTM input and output layer, both reading the attended context."""
    z_bias: torch.Tensor
    word_weight: torch.Tensor
    """(4H, E): the word embedding's share of the LSTM input."""
    split: tuple[int, int, int, int]
    """(E, A, F, 4H)."""


def word_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum over words of -log p(correct word), averaged over captions; targets (B, T) padded with <pad>."""
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=PAD_ID,
                          reduction="sum")
    return nll / targets.shape[0]


def gather_maps(spatial: torch.Tensor, ids: Sequence[int] | np.ndarray | torch.Tensor) -> torch.Tensor:
    """Rows `ids` of a catalog's (N, S, C) spatial maps (or (N, K) colour histograms) as float32 on their device."""
    index = torch.as_tensor(np.ascontiguousarray(ids, dtype=np.int64), device=spatial.device)
    return spatial.index_select(0, index).float()


class ImageTable:
    """What the captioner sees of every catalog item, on one device: the (N, S, C) spatial maps and, for a
    captioner with colour_dim K, the (N, K) colour histograms (both float16, gathered as float32)."""

    def __init__(self, spatial: np.ndarray, colours: np.ndarray | None = None, device: str | torch.device = "cpu"):
        if colours is not None and len(colours) != len(spatial):
            raise ValueError(f"{len(colours)} colour histograms for {len(spatial)} spatial maps")
        self.spatial = torch.from_numpy(np.ascontiguousarray(spatial)).to(device)
        self.colours = None if colours is None else torch.from_numpy(np.ascontiguousarray(colours)).to(device)

    def __len__(self) -> int:
        return self.spatial.shape[0]

    @property
    def device(self) -> torch.device:
        return self.spatial.device

    def pair(self, target_ids: Sequence[int] | np.ndarray,
             reference_ids: Sequence[int] | np.ndarray) -> tuple[torch.Tensor, torch.Tensor, Colours]:
        """(target maps (B, S, C), reference maps (B, S, C), colours) of the pairs, the model's inputs."""
        colours = None if self.colours is None else (gather_maps(self.colours, target_ids),
                                                     gather_maps(self.colours, reference_ids))
        return gather_maps(self.spatial, target_ids), gather_maps(self.spatial, reference_ids), colours
