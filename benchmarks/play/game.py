"""The game behind the web page: agents to play against, one dialog per browser session, simulated dialogs to watch.

A `Dialog` runs a person's dialog through the real environment (`ShoeRetrievalEnv` on the test
split): the env draws nothing (the target and first image are given), ranks the split after every
turn and shows the agent's next image. The env's user is `AwaitingPerson`, because a person speaks
about an image only after seeing it: the sentence they type about the image on show is put into the
observation's feedback (tokenised by the catalog's one vocabulary, as the env would) before the agent
reads it. `Game` holds what sessions share (catalog, vocabulary, agents, users, the image cache, the
log) and the bounded table of live sessions.
"""

from __future__ import annotations

import copy
import io
import re
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from agents.baselines import NearestNeighbourAgent, RandomAgent
from agents.dialog_manager import CheckpointMismatchError, DialogManagerAgent
from agents.whittlesearch import WhittleSearchAgent
from benchmarks.play.log import RECORD_VERSION, ReplayUser, UnloggedPairError, append_record, default_log_path
from benchmarks.protocol import action_type_of
from envs.shoe_retrieval import MAX_TOKENS, ShoeRetrievalEnv
from simulators import registry
from simulators.cache import ArtifactCache, CorruptArtifactError
from simulators.catalog.attributes import ATTRIBUTE_WORDS, ATTRIBUTES
from simulators.catalog.catalog import Catalog
from simulators.catalog.estimators import load_attribute_estimates
from simulators.language.vocab import Vocabulary
from simulators.seeding import make_rng
from simulators.users import User, check_pairs

SPLIT = "test"
MODES = ("play", "whittlesearch")
"""Modes in which a person gives the feedback (and which are logged); "watch" replays a simulated user."""
WHITTLESEARCH = "whittlesearch"
RELATIONS = ("more", "less")
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")
"""Form of a session id (secrets.token_urlsafe(16) gives 22 characters); anything else is refused unread."""
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class PlayError(ValueError):
    """A request the game refuses (its message is shown to the person)."""


class NotFound(PlayError):
    """A request for something that does not exist (answered 404)."""


class UnknownSession(NotFound):
    """No live session has this id (never made, finished, or evicted)."""


@dataclass(frozen=True)
class PlayConfig:
    """Settings of the web app; `python -m benchmarks.play --help` builds its command line from them."""

    turns: int = 5
    """Turns per dialog (the paper's user study: five)."""
    max_sessions: int = 32
    """Live dialogs kept at once (each holds an env, about 10 MB on the full catalog); the least recently
    active is evicted to make room for a new one."""
    session_ttl_s: float = 3600.0
    """A dialog idle this long is forgotten."""
    max_feedback_chars: int = 200
    """Longest sentence a person may type."""
    image_size: int = 192
    """Side in pixels at which images are rendered for the page."""
    image_cache: int = 4096
    """PNG images kept in memory (least recently used dropped first)."""
    seed: int | None = None
    """Seeds the targets and first images of new dialogs; None draws them from the OS (secrets)."""

    def __post_init__(self) -> None:
        for name, low, high in (("turns", 1, 100), ("max_sessions", 1, 100_000), ("max_feedback_chars", 1, 2000),
                                ("image_size", 32, 1024), ("image_cache", 1, 10**6)):
            value = getattr(self, name)
            if not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
        if not self.session_ttl_s > 0:
            raise ValueError(f"session_ttl_s must be positive, got {self.session_ttl_s}")
        if self.seed is not None and self.seed < 0:
            raise ValueError(f"seed must be non-negative, got {self.seed}")


class AwaitingPerson(User):
    """The env's user in a person's dialog. When the env shows an image the person has not yet spoken about it,
    so this user says nothing (""); what the person then types is the feedback the agent reads (`Dialog.answer`)."""

    def describe(self, target_ids: np.ndarray, candidate_ids: np.ndarray,
                 rngs: Sequence[np.random.Generator] | None = None) -> list[str]:
        targets, _ = check_pairs(target_ids, candidate_ids, rngs, np.iinfo(np.int64).max)
        return [""] * len(targets)

    def reset(self, seed: int) -> None:
        pass


@dataclass
class AgentChoice:
    """An agent a person can play against: `make(seed)` gives a fresh one for one dialog."""

    name: str
    description: str
    make: Callable[[int], Any]
    action_type: str


def _fresh_copy(template: Any) -> Any:
    """A per-dialog copy of a loaded agent: the model and the split's arrays are shared (read only), the dialog
    state is the copy's own. DialogManagerAgent keeps its state in `_hidden` (cleared by reset_state);
    WhittleSearchAgent rebinds its per-dialog arrays on its first predict (batch size 0 -> 1), so a template that
    never predicts hands out clean copies."""
    agent = copy.copy(template)
    if callable(getattr(agent, "reset_state", None)):
        agent.reset_state()
    return agent


def available_agents(catalog: Catalog, vocabulary: Vocabulary, runs: str | Path = "runs", device: str = "cpu",
                     cache: ArtifactCache | None = None) -> tuple[dict[str, AgentChoice], list[str]]:
    """(agents by name, notes on checkpoints skipped) for the test split of `catalog`.

    The baselines (nearest neighbour, random), WhittleSearch on hand-crafted attribute estimates (the
    paper's user-study baseline) and every trained dialog manager found at `runs/<method>-<user>-s0/checkpoint`
    that fits the catalog and vocabulary (named "<method>-<user>").
    """
    split_ids = catalog.split_ids(SPLIT)
    n = len(split_ids)
    choices = [
        AgentChoice("nearest-neighbour", "feedback-blind baseline: the unseen image nearest to the one on show",
                    lambda seed: NearestNeighbourAgent(), "query"),
        AgentChoice("random", "baseline: a random unseen image", lambda seed: RandomAgent(n, seed), "candidate"),
    ]
    estimates = load_attribute_estimates(catalog, "handcrafted", cache)
    whittle = WhittleSearchAgent(estimates[split_ids], vocabulary, features=catalog.features[split_ids])
    choices.append(AgentChoice(WHITTLESEARCH, "WhittleSearch on hand-crafted attribute estimates (reads "
                               "'more X' / 'less X' for the ten attributes)", lambda seed: _fresh_copy(whittle),
                               "candidate"))
    notes = []
    for path in sorted(Path(runs).glob("*-s0/checkpoint")):
        if not (path / "manifest.json").is_file():
            continue
        name = path.parent.name.removesuffix("-s0")
        try:
            template = DialogManagerAgent.load(path, catalog, vocabulary, device=device)
        except (CheckpointMismatchError, CorruptArtifactError, FileNotFoundError) as err:
            notes.append(f"skipped {path}: {str(err).replace(f'dialog manager {path} ', '')}")
            continue
        template.use_split(SPLIT)
        template.model.eval()  # predict then never flips the shared model's mode, so sessions may share it
        method, _, user = name.partition("-")
        choices.append(AgentChoice(name, f"dialog manager trained by {method} with the {user} user",
                                   lambda seed, t=template: _fresh_copy(t), action_type_of(template)))
    return {c.name: c for c in choices}, notes


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def attribute_sentence(pressed: Sequence[tuple[str, str]]) -> str:
    """The sentence of a WhittleSearch turn: "more shiny less pointy" from (attribute word, relation) pairs, in
    the attributes' fixed order (as the attribute users say it). Refuses unknown words, relations, repeats."""
    order = {ATTRIBUTE_WORDS[a]: k for k, a in enumerate(ATTRIBUTES)}
    seen: dict[str, str] = {}
    for word, relation in pressed:
        if word not in order:
            raise PlayError(f"unknown attribute {word!r}; expected one of {sorted(order)}")
        if relation not in RELATIONS:
            raise PlayError(f"relation must be one of {RELATIONS}, got {relation!r}")
        if word in seen:
            raise PlayError(f"attribute {word!r} given twice")
        seen[word] = relation
    if not seen:
        raise PlayError("press at least one 'more' or 'less' button")
    return " ".join(f"{seen[w]} {w}" for w in sorted(seen, key=order.__getitem__))


def clean_sentence(text: Any, max_chars: int) -> str:
    """A person's sentence as plain text: a string of at most `max_chars` characters, control characters turned
    into spaces, whitespace collapsed; PlayError when it is not text, empty or too long."""
    if not isinstance(text, str):
        raise PlayError("feedback must be text")
    if len(text) > max_chars:
        raise PlayError(f"feedback is limited to {max_chars} characters, got {len(text)}")
    sentence = " ".join(CONTROL.sub(" ", text).split())
    if not sentence:
        raise PlayError("type how the shoe you want differs from the one shown")
    return sentence


class Dialog:
    """One dialog of a person with an agent over the env on the test split: `answer(sentence)` is one turn."""

    def __init__(self, catalog: Catalog, vocabulary: Vocabulary, choice: AgentChoice, mode: str, target: int,
                 first: int, seed: int, turns: int):
        if mode not in MODES:
            raise PlayError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode, self.agent_name, self.turns, self.seed = mode, choice.name, turns, seed
        self.catalog, self.vocabulary = catalog, vocabulary
        self.agent = choice.make(seed)
        self.env = ShoeRetrievalEnv(catalog=catalog, split=SPLIT, user=AwaitingPerson(), vocabulary=vocabulary,
                                    action_type=choice.action_type, max_turns=turns, device="cpu")
        self.obs, info = self.env.reset(seed=seed, options={"target": target, "first_candidate": first})
        self.n_items = len(catalog.split_ids(SPLIT))
        self.target = int(catalog.split_ids(SPLIT)[target])
        self.shown = [info["candidate_id"]]
        self.ranks, self.percentiles = [info["rank"]], [info["rank_percentile"]]
        self.sentences: list[str] = []
        self.attributes: list[list[dict[str, str]]] = []
        self.turn_times: list[str] = []
        self.turn_seconds: list[float] = []
        self.found = False
        self.started = _now()
        self.dialog_id = uuid.uuid4().hex

    @property
    def done(self) -> bool:
        return self.found or len(self.sentences) >= self.turns

    def answer(self, sentence: str, attributes: list[dict[str, str]] | None = None) -> None:
        """One turn: the agent reads `sentence` about the image on show and shows its next image."""
        if self.done:
            raise PlayError("this dialog is over; start a new one")
        t0 = time.perf_counter()
        # WhittleSearch may be told about all ten attributes (20 words); the env's observation keeps 16 tokens.
        width = max(MAX_TOKENS, 2 * len(ATTRIBUTES)) if self.mode == WHITTLESEARCH else MAX_TOKENS
        obs = dict(self.obs, feedback=self.vocabulary.encode([sentence], max_len=width)[0])
        action, _ = self.agent.predict(obs, episode_start=np.array([not self.sentences]), deterministic=True)
        self.obs, _, terminated, _, info = self.env.step(action)
        self.sentences.append(sentence)
        if attributes is not None:
            self.attributes.append(attributes)
        self.shown.append(info["candidate_id"])
        self.ranks.append(info["rank"])
        self.percentiles.append(info["rank_percentile"])
        self.found = bool(terminated)
        self.turn_times.append(_now())
        self.turn_seconds.append(round(time.perf_counter() - t0, 4))

    def record(self) -> dict[str, Any]:
        """The log line of the dialog (see benchmarks.play.log)."""
        out = {"version": RECORD_VERSION, "dialog": self.dialog_id, "mode": self.mode, "agent": self.agent_name,
               "user": "person", "catalog": self.catalog.name, "split": SPLIT, "n_items": self.n_items,
               "turns": self.turns, "target": self.target, "shown": self.shown, "sentences": self.sentences,
               "ranks": self.ranks, "rank_percentiles": self.percentiles, "found": self.found, "seed": self.seed,
               "started": self.started, "finished": _now(), "turn_times": self.turn_times,
               "turn_seconds": self.turn_seconds}
        if self.mode == WHITTLESEARCH:
            out["attributes"] = self.attributes
        return out

    def close(self) -> None:
        self.env.close()


@dataclass
class Session:
    id: str
    dialog: Dialog
    last_active: float
    lock: threading.Lock = field(default_factory=threading.Lock)


class ImageCache:
    """PNG bytes of catalog items rendered on demand, the `capacity` most recently used kept in memory."""

    def __init__(self, catalog: Catalog, size: int, capacity: int):
        self.catalog, self.size, self.capacity = catalog, size, capacity
        self._images: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def png(self, item: int) -> bytes:
        if not 0 <= item < len(self.catalog):
            raise NotFound(f"no item {item}: the catalog has items 0..{len(self.catalog) - 1}")
        with self._lock:
            if item in self._images:
                self._images.move_to_end(item)
                return self._images[item]
        buffer = io.BytesIO()  # rendered outside the lock: two sessions may render at once
        Image.fromarray(self.catalog.render(item, size=self.size)).save(buffer, format="PNG")
        data = buffer.getvalue()
        with self._lock:
            self._images[item] = data
            while len(self._images) > self.capacity:
                self._images.popitem(last=False)
        return data


class Game:
    """What every session shares, and the bounded table of live sessions (thread-safe: the web server answers
    requests from a pool of threads)."""

    def __init__(self, catalog: Catalog, vocabulary: Vocabulary, agents: dict[str, AgentChoice],
                 config: PlayConfig = PlayConfig(), log_path: str | Path | None = None,
                 cache: ArtifactCache | None = None):
        self.catalog, self.vocabulary, self.agents, self.config = catalog, vocabulary, agents, config
        self.cache = cache
        self.log_path = Path(log_path) if log_path is not None else default_log_path()
        self.images = ImageCache(catalog, config.image_size, config.image_cache)
        self.n_items = len(catalog.split_ids(SPLIT))
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()
        self._counter = 0
        self._users: dict[str, User] = {}
        self._user_locks = {name: threading.Lock() for name in registry.USER_NAMES}
        self.evicted = 0

    # ---- sessions ---------------------------------------------------------------------------------
    def _draw(self) -> tuple[int, int, int]:
        """(target, first image, env seed) of a new dialog: target uniform over the split, first image uniform
        over the others."""
        with self._lock:
            self._counter += 1
            counter = self._counter
        if self.config.seed is None:
            target, offset, seed = (secrets.randbelow(self.n_items), 1 + secrets.randbelow(self.n_items - 1),
                                    secrets.randbits(31))
        else:
            rng = make_rng(self.config.seed, "play", counter)
            target, offset, seed = (int(rng.integers(self.n_items)), int(rng.integers(1, self.n_items)),
                                    int(rng.integers(2**31)))
        return target, (target + offset) % self.n_items, seed

    def new_session(self, mode: str, agent: str) -> Session:
        if mode not in MODES:
            raise PlayError(f"mode must be one of {MODES}, got {mode!r}")
        if mode == WHITTLESEARCH:
            agent = WHITTLESEARCH
        if agent not in self.agents:
            raise PlayError(f"unknown agent {agent!r}; available: {sorted(self.agents)}")
        target, first, seed = self._draw()
        dialog = Dialog(self.catalog, self.vocabulary, self.agents[agent], mode, target, first, seed,
                        self.config.turns)
        session = Session(secrets.token_urlsafe(16), dialog, time.monotonic())
        with self._lock:
            self._expire()
            while len(self._sessions) >= self.config.max_sessions:
                _, old = self._sessions.popitem(last=False)  # the least recently active
                old.dialog.close()
                self.evicted += 1
            self._sessions[session.id] = session
        return session

    def _expire(self) -> None:
        cutoff = time.monotonic() - self.config.session_ttl_s
        for sid in [sid for sid, s in self._sessions.items() if s.last_active < cutoff]:
            self._sessions.pop(sid).dialog.close()

    def session(self, session_id: str) -> Session:
        """The live session with this id; UnknownSession for a malformed, finished, expired or evicted id."""
        if not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id):
            raise UnknownSession("malformed session id")
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.last_active < time.monotonic() - self.config.session_ttl_s:
                raise UnknownSession("unknown or expired session; start a new dialog")
            session.last_active = time.monotonic()
            self._sessions.move_to_end(session_id)
        return session

    def live_sessions(self) -> int:
        with self._lock:
            return len(self._sessions)

    def answer(self, session_id: str, feedback: str | None = None,
               attributes: Sequence[tuple[str, str]] | None = None) -> tuple[Session, dict[str, Any] | None]:
        """One turn of a session: free text in "play" mode, (attribute word, relation) pairs in "whittlesearch".
        Everything is checked before the dialog changes. Returns (session, the log record if the dialog ended)."""
        session = self.session(session_id)
        dialog = session.dialog
        if dialog.mode == WHITTLESEARCH:
            if attributes is None or feedback is not None:
                raise PlayError("a WhittleSearch turn takes attribute buttons, not text")
            pressed = [(str(w), str(r)) for w, r in attributes]
            sentence = attribute_sentence(pressed)
            buttons = [{"attribute": w, "relation": r} for w, r in pressed]
        else:
            if feedback is None or attributes is not None:
                raise PlayError("a turn takes the sentence you typed")
            sentence, buttons = clean_sentence(feedback, self.config.max_feedback_chars), None
        with session.lock:
            dialog.answer(sentence, buttons)
            if not dialog.done:
                return session, None
            record = dialog.record()
        append_record(record, self.log_path)
        with self._lock:
            if self._sessions.get(session.id) is session:
                del self._sessions[session.id]
        dialog.close()
        return session, record

    # ---- watching a simulated user ----------------------------------------------------------------
    def user(self, name: str) -> User:
        """The simulated user `name` (built on first use and shared; a user is called under its lock)."""
        if name not in self._user_locks:
            raise PlayError(f"unknown user {name!r}; expected one of {list(registry.USER_NAMES)}")
        with self._user_locks[name]:
            if name not in self._users:
                self._users[name] = registry.make_user(name, self.catalog, vocabulary=self.vocabulary,
                                                       progress=False, cache=self.cache)
            return self._users[name]

    def watch(self, agent: str, user: str) -> dict[str, Any]:
        """A simulated dialog of `agent` with `user` on a random test target: every turn's image, what the user
        said about it (read by the agent) and the target's rank."""
        if agent not in self.agents:
            raise PlayError(f"unknown agent {agent!r}; available: {sorted(self.agents)}")
        simulated = self.user(user)
        choice = self.agents[agent]
        target, first, seed = self._draw()
        split_ids = self.catalog.split_ids(SPLIT)
        with self._user_locks[user]:  # users keep caches and generators: one dialog at a time per user
            env = ShoeRetrievalEnv(catalog=self.catalog, split=SPLIT, user=simulated, vocabulary=self.vocabulary,
                                   action_type=choice.action_type, max_turns=self.config.turns, device="cpu")
            try:
                obs, info = env.reset(seed=seed, options={"target": target, "first_candidate": first})
                steps = [{"image": info["candidate_id"], "rank": info["rank"],
                          "rank_percentile": info["rank_percentile"], "sentence": info["feedback_text"]}]
                agent_instance = choice.make(seed)
                for turn in range(self.config.turns):
                    action, _ = agent_instance.predict(obs, episode_start=np.array([turn == 0]), deterministic=True)
                    obs, _, terminated, truncated, info = env.step(action)
                    steps.append({"image": info["candidate_id"], "rank": info["rank"],
                                  "rank_percentile": info["rank_percentile"], "sentence": info["feedback_text"]})
                    if terminated or truncated:
                        break
            finally:
                env.close()
        steps[-1]["sentence"] = None  # said after the dialog ended: no agent reads it
        return {"agent": agent, "user": user, "target": int(split_ids[target]), "n_items": self.n_items,
                "turns": self.config.turns, "found": bool(terminated), "steps": steps}

    def options(self) -> dict[str, Any]:
        """What the page offers: agents, users, attributes, limits."""
        return {"catalog": self.catalog.name, "n_items": self.n_items, "turns": self.config.turns,
                "max_feedback_chars": self.config.max_feedback_chars,
                "agents": [{"name": c.name, "description": c.description} for c in self.agents.values()],
                "users": list(registry.USER_NAMES),
                "attributes": [{"name": a, "word": ATTRIBUTE_WORDS[a]} for a in ATTRIBUTES]}


@dataclass
class ReplayResult:
    """An agent's dialogs with people's logged words (see `replay_dialogs`)."""

    agent: str
    dialogs: int
    reached: list[int]
    """Index t: dialogs still on the logged path after turn t (the agent showed the images people spoke about)."""
    mean_rank_percentile: list[float]
    """Index t: mean over the dialogs that reached turn t."""
    reproduced: int
    """Dialogs whose every logged turn was replayed with the logged ranks (the logging agent, deterministic)."""


def replay_dialogs(choice: AgentChoice, records: Sequence[dict[str, Any]], catalog: Catalog, vocabulary: Vocabulary,
                   seed: int = 0) -> ReplayResult:
    """Run `choice` on every logged dialog of `catalog`: same target and first image, the person's logged words
    as the user (`ReplayUser`). The first turn is the same for every agent (everyone saw the first image); a
    dialog continues while the agent shows images people spoke about, and stops where it leaves the log."""
    records = [r for r in records if r["catalog"] == catalog.name]
    user = ReplayUser(records, catalog.name, len(catalog), seed)
    position = {int(item): k for k, item in enumerate(catalog.split_ids(SPLIT))}
    turns = max(r["turns"] for r in records)
    totals, reached, reproduced = np.zeros(turns + 1), np.zeros(turns + 1, dtype=np.int64), 0
    for record in records:
        if record["target"] not in position or record["shown"][0] not in position:
            raise ValueError(f"dialog {record.get('dialog')} names items outside the {SPLIT!r} split of "
                             f"catalog {catalog.name!r}")
        dialog = Dialog(catalog, vocabulary, choice, record["mode"], position[record["target"]],
                        position[record["shown"][0]], int(record.get("seed", seed)), record["turns"])
        try:
            while not dialog.done:
                try:
                    sentence = user.describe([dialog.target], [dialog.shown[-1]])[0]
                except UnloggedPairError:
                    break
                dialog.answer(sentence)
        finally:
            dialog.close()
        percentiles = np.ones(record["turns"] + 1)  # after the target was shown: rank 0
        percentiles[: len(dialog.percentiles)] = dialog.percentiles
        on_log = record["turns"] + 1 if dialog.found else len(dialog.percentiles)
        totals[:on_log] += percentiles[:on_log]
        reached[:on_log] += 1
        reproduced += int(dialog.ranks == record["ranks"])
    means = [float(total / n) if n else float("nan") for total, n in zip(totals, reached, strict=True)]
    return ReplayResult(choice.name, len(records), reached.tolist(), means, reproduced)
