"""The web app for people: dialogs over HTTP and in a real (headless Chromium) browser, the log, its summary,
the replay user, and the app's refusals. All on the tiny catalog (16 test items)."""

from __future__ import annotations

import json
import threading

import httpx
import numpy as np
import pytest

from agents.dialog_manager import DialogManagerAgent
from benchmarks.play.__main__ import main as play_main
from benchmarks.play.app import MAX_BODY_BYTES, SECURITY_HEADERS, BackgroundServer, create_app
from benchmarks.play.game import (
    Game,
    PlayConfig,
    PlayError,
    attribute_sentence,
    available_agents,
    clean_sentence,
    replay_dialogs,
)
from benchmarks.play.log import (
    ReplayUser,
    UnloggedPairError,
    append_record,
    check_record,
    read_log,
    summarise,
    turn_percentiles,
)
from simulators.catalog.attributes import ATTRIBUTE_WORDS, ATTRIBUTES
from simulators.language.claims import SAME_ITEM_PHRASE
from simulators.registry import load_vocabulary

TURNS = 5


@pytest.fixture(scope="module")
def vocab(tiny_catalog, session_cache):
    return load_vocabulary(tiny_catalog, cache=session_cache)


@pytest.fixture(scope="module")
def agents(tiny_catalog, vocab, session_cache, tmp_path_factory):
    """The baselines, WhittleSearch and one (untrained) dialog manager found the way the app finds trained ones."""
    runs = tmp_path_factory.mktemp("runs")
    DialogManagerAgent.create(tiny_catalog, vocab, hidden_dim=32, embed_dim=16).save(
        runs / "policy_improvement-grammar-s0" / "checkpoint")
    (runs / "scst-grammar-s0" / "checkpoint").mkdir(parents=True)  # no manifest: not a checkpoint, ignored
    choices, notes = available_agents(tiny_catalog, vocab, runs, cache=session_cache)
    assert notes == []
    return choices


def make_game(catalog, vocab, agents, tmp_path, session_cache, **config):
    return Game(catalog, vocab, agents, PlayConfig(**config), tmp_path / "dialogs.jsonl", cache=session_cache)


@pytest.fixture
def game(tiny_catalog, vocab, agents, tmp_path, session_cache):
    return make_game(tiny_catalog, vocab, agents, tmp_path, session_cache, seed=0)


@pytest.fixture
def client(game):
    with BackgroundServer(create_app(game)) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def play_over_http(client, mode="play", agent="nearest-neighbour", say=lambda turn: f"is darker {turn}"):
    start = client.post("/api/sessions", json={"mode": mode, "agent": agent})
    assert start.status_code == 200, start.text
    session = start.json()
    images = [session["image"]]
    for turn in range(TURNS):
        body = {"feedback": say(turn)} if mode == "play" else {"attributes": say(turn)}
        reply = client.post(f"/api/sessions/{session['session']}/turns", json=body)
        assert reply.status_code == 200, reply.text
        answer = reply.json()
        images.append(answer["image"])
        assert answer["turn"] == turn + 1
        if answer["done"]:
            return session, images, answer["result"]
    raise AssertionError("the dialog did not end after five turns")


def test_agents_on_offer(agents):
    assert list(agents) == ["nearest-neighbour", "random", "whittlesearch", "policy_improvement-grammar"]
    assert {c.action_type for c in agents.values()} == {"query", "candidate"}


def test_a_play_dialog_over_http_is_logged_as_one_line_and_summarised(client, game, tiny_catalog):
    session, images, result = play_over_http(client, agent="policy_improvement-grammar")
    test_ids = set(tiny_catalog.split_ids("test").tolist())
    assert result["target"] == session["target"] in test_ids
    assert result["shown"] == images and set(images) <= test_ids and len(set(images)) == len(images)
    taken = len(images) - 1
    assert result["sentences"] == [f"is darker {t}" for t in range(taken)]
    assert len(result["ranks"]) == taken + 1 and (taken == TURNS or result["found"])
    lines = game.log_path.read_text().splitlines()
    assert len(lines) == 1
    record = check_record(json.loads(lines[0]))
    assert record["shown"] == images and record["ranks"] == result["ranks"] and record["user"] == "person"
    assert record["mode"] == "play" and record["agent"] == "policy_improvement-grammar"
    assert len(record["turn_times"]) == len(record["turn_seconds"]) == taken
    assert all(0 <= s < 1.0 for s in record["turn_seconds"])  # "a turn answers in well under a second"
    (row,) = summarise([record], bootstrap=50)
    assert row.dialogs == 1 and row.agent == "policy_improvement-grammar"
    np.testing.assert_allclose(row.mean_rank_percentile, turn_percentiles(record))
    # the finished session is gone
    again = client.post(f"/api/sessions/{session['session']}/turns", json={"feedback": "is red"})
    assert again.status_code == 404 and "start a new dialog" in again.json()["detail"]


def test_refusals_are_4xx_with_a_message_and_leave_sessions_intact(client, game):
    a = client.post("/api/sessions", json={"mode": "play", "agent": "random"}).json()
    b = client.post("/api/sessions", json={"mode": "play", "agent": "nearest-neighbour"}).json()
    assert a["session"] != b["session"] and len(a["session"]) >= 22
    turn_url = f"/api/sessions/{a['session']}/turns"
    refused = [
        (client.post(turn_url, json={"feedback": "x" * 201}), 400, "limited to 200 characters"),
        (client.post(turn_url, json={"feedback": "   "}), 400, "type how"),
        (client.post(turn_url, json={"feedback": 5}), 422, "feedback"),
        (client.post(turn_url, json={"feedback": "is red", "admin": True}), 422, "admin"),
        (client.post(turn_url, content=b"{not json", headers={"content-type": "application/json"}), 422, "malformed"),
        (client.post(turn_url, json={"feedback": "y" * (2 * MAX_BODY_BYTES)}), 413, "bytes"),
        (client.post(turn_url, content=iter([b'{"feedback": "', b"z" * (2 * MAX_BODY_BYTES), b'"}']),
                     headers={"content-type": "application/json"}), 413, "bytes"),  # chunked: no length given
        (client.post(turn_url, json={"attributes": [{"attribute": "shiny", "relation": "more"}]}), 400, "sentence"),
        (client.post("/api/sessions/../../etc/passwd/turns", json={"feedback": "x"}), 404, ""),
        (client.post("/api/sessions/short/turns", json={"feedback": "x"}), 404, "malformed session id"),
        (client.post(f"/api/sessions/{'A' * 22}/turns", json={"feedback": "x"}), 404, "unknown or expired"),
        (client.post("/api/sessions", json={"mode": "play", "agent": "nobody"}), 400, "unknown agent"),
        (client.post("/api/sessions", json={"mode": "admin"}), 422, "mode"),
        (client.post("/api/watch", json={"agent": "random", "user": "nobody"}), 400, "unknown user"),
        (client.get("/api/images/64.png"), 404, "no item 64"),
        (client.get("/api/images/-1.png"), 404, "integers"),
        (client.get("/api/images/..%2F..%2Fpyproject.toml.png"), 404, ""),
        (client.get("/api/images/%2Fetc%2Fpasswd"), 404, ""),
    ]
    for response, status, words in refused:
        assert response.status_code == status, (response.request.url, response.text)
        assert words in response.json()["detail"], response.text
    assert SECURITY_HEADERS["content-security-policy"] == refused[5][0].headers["content-security-policy"]
    assert game.live_sessions() == 2
    # both dialogs go on, each with its own images
    step_a = client.post(turn_url, json={"feedback": "<script>alert(1)</script> is\x00 red"}).json()
    step_b = client.post(f"/api/sessions/{b['session']}/turns", json={"feedback": "is red"}).json()
    assert step_a["turn"] == step_b["turn"] == 1
    dialog = game.session(a["session"]).dialog
    assert dialog.sentences == ["<script>alert(1)</script> is red"] and dialog.shown == [a["image"], step_a["image"]]
    assert game.session(b["session"]).dialog.shown == [b["image"], step_b["image"]]
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
    image = client.get(f"/api/images/{a['image']}.png")
    assert image.headers["content-type"] == "image/png" and image.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_least_recently_active_session_is_evicted(tiny_catalog, vocab, agents, tmp_path, session_cache):
    game = make_game(tiny_catalog, vocab, agents, tmp_path, session_cache, max_sessions=2)
    first, second = game.new_session("play", "random"), game.new_session("play", "random")
    game.session(first.id)  # first is now the more recently active (an answer could end its random dialog)
    third = game.new_session("play", "random")
    assert game.live_sessions() == 2 and game.evicted == 1
    with pytest.raises(PlayError, match="unknown or expired"):
        game.session(second.id)
    game.answer(first.id, "is blue")
    game.answer(third.id, "is blue")


def test_whittlesearch_turns_read_every_button(game, agents):
    assert attribute_sentence([("shiny", "more"), ("pointy", "less")]) == "less pointy more shiny"  # fixed order
    with pytest.raises(PlayError, match="twice"):
        attribute_sentence([("shiny", "more"), ("shiny", "less")])
    with pytest.raises(PlayError, match="at least one"):
        attribute_sentence([])
    session = game.new_session("whittlesearch", "random")  # the mode fixes the agent
    assert session.dialog.agent_name == "whittlesearch"
    all_ten = [(ATTRIBUTE_WORDS[a], "more" if k % 2 else "less") for k, a in enumerate(ATTRIBUTES)]
    game.answer(session.id, attributes=all_ten)
    assert session.dialog.agent.n_constraints.tolist() == [10]  # 20 words: more than the env's 16 tokens
    other = game.new_session("whittlesearch", "whittlesearch")
    assert other.dialog.agent.n_constraints.size == 0  # sessions share no dialog state


def test_settings_are_checked():
    with pytest.raises(ValueError, match="image_size"):
        PlayConfig(image_size=8)
    with pytest.raises(ValueError, match="max_sessions"):
        PlayConfig(max_sessions=0)


def test_sentences_are_plain_bounded_text():
    assert clean_sentence("  is\tred\n\nand\x1b[31m  shiny\u2028 ", 200) == "is red and [31m shiny"
    with pytest.raises(PlayError, match="limited to 10"):
        clean_sentence("x" * 11, 10)
    with pytest.raises(PlayError, match="text"):
        clean_sentence(["is red"], 10)


def test_watch_replays_a_simulated_dialog(game, tiny_catalog):
    watched = game.watch("policy_improvement-grammar", "grammar")
    steps = watched["steps"]
    assert 2 <= len(steps) <= TURNS + 1 and watched["target"] in tiny_catalog.split_ids("test")
    assert all(isinstance(s["sentence"], str) and s["sentence"] for s in steps[:-1]) and steps[-1]["sentence"] is None
    assert [s["rank"] >= 0 for s in steps] and (len(steps) == TURNS + 1 or watched["found"])


def fake_record(percentiles_or_ranks, n_items=11, found=False, agent="a", mode="play", target=0):
    ranks = list(percentiles_or_ranks)
    return {"mode": mode, "agent": agent, "catalog": "c", "n_items": n_items, "turns": TURNS, "target": target,
            "shown": list(range(1, len(ranks) + 1)), "sentences": [f"s{k}" for k in range(len(ranks) - 1)],
            "ranks": ranks, "found": found}


def test_summary_pads_found_dialogs_and_bootstraps(tmp_path, capsys):
    records = [fake_record([5, 4, 3, 2, 1, 0]), fake_record([10, 0], found=True), fake_record([5, 5, 5, 5, 5, 5]),
               fake_record([2, 2, 2, 2, 2, 2], agent="b", mode="whittlesearch")]
    np.testing.assert_allclose(turn_percentiles(records[1]), [0.0, 1, 1, 1, 1, 1])
    rows = summarise(records, bootstrap=200)
    assert [(r.mode, r.agent, r.dialogs) for r in rows] == [("play", "a", 3), ("whittlesearch", "b", 1)]
    expected = np.mean([[0.5, 0.6, 0.7, 0.8, 0.9, 1.0], [0.0, 1, 1, 1, 1, 1], [0.5] * 6], axis=0)
    np.testing.assert_allclose(rows[0].mean_rank_percentile, expected)
    assert all(lo <= m <= hi for m, (lo, hi) in zip(rows[0].mean_rank_percentile, rows[0].ci95, strict=True))
    assert rows[1].ci95[-1] == pytest.approx((0.8, 0.8))
    log = tmp_path / "log.jsonl"
    for record in records:
        append_record(record, log)
    with open(log, "a") as f:
        f.write("{torn line\n")
    play_main(["--summary", str(log)])
    out = capsys.readouterr()
    assert "4 dialogs" in out.out and "whittlesearch" in out.out and "80.0 [80.0, 80.0]" in out.out
    assert ":5: not a dialog record" in out.err
    with pytest.raises(ValueError, match=":5: not a dialog record"):
        read_log(log)


def test_concurrent_appends_give_whole_lines(tmp_path):
    log = tmp_path / "sub" / "log.jsonl"
    sentence = "is red " * 100  # long lines make interleaving likely if the writes were not whole

    def write(worker):
        for k in range(25):
            append_record({**fake_record([3, 2, 1, 1, 1, 1]), "agent": f"w{worker}", "sentences": [sentence] * 5,
                           "target": k}, log)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records, problems = read_log(log)
    assert problems == [] and len(records) == 200
    assert sorted((r["agent"], r["target"]) for r in records) == sorted((f"w{w}", k) for w in range(8)
                                                                       for k in range(25))


def test_replay_user_answers_logged_pairs_and_refuses_others(game, tiny_catalog, vocab, agents):
    records = []
    for _ in range(3):
        session = game.new_session("play", "policy_improvement-grammar")
        turn, record = 0, None
        while record is None:
            _, record = game.answer(session.id, f"is darker and shinier {turn}")
            turn += 1
        records.append(record)
    user = ReplayUser(records, tiny_catalog.name, len(tiny_catalog))
    first = records[0]
    pair = (first["target"], first["shown"][0])
    assert "is darker and shinier 0" in user.sentences[pair]
    assert user.describe([pair[0]], [pair[1]])[0] in user.sentences[pair]
    assert user.describe([first["target"]], [first["target"]]) == [SAME_ITEM_PHRASE]
    never = next(i for i in tiny_catalog.split_ids("test") if not user.is_logged(first["target"], i)
                 and i != first["target"])
    with pytest.raises(UnloggedPairError, match=f"target {first['target']} with image {never}"):
        user.describe([first["target"]], [never])
    with pytest.raises(ValueError, match="no dialogs on catalog"):
        ReplayUser(records, "another-catalog")
    # the logging agent (deterministic) replays its dialogs exactly; another agent gets at least the first turn
    same = replay_dialogs(agents["policy_improvement-grammar"], records, tiny_catalog, vocab)
    assert same.reproduced == same.dialogs == 3 and same.reached == [3] * (TURNS + 1)
    logged = np.mean([turn_percentiles(r) for r in records], axis=0)
    np.testing.assert_allclose(same.mean_rank_percentile, logged, rtol=1e-6)
    other = replay_dialogs(agents["nearest-neighbour"], records, tiny_catalog, vocab)
    assert other.reached[0] == other.reached[1] == 3


# ---- in a real browser --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    from benchmarks.play.browser import BrowserUnavailable, headless_chromium

    try:
        with headless_chromium() as driver:
            yield driver
    except BrowserUnavailable as err:
        pytest.skip(f"no headless Chromium: {err}")


def five_turn_seed(catalog, vocab, agents, tmp_path, session_cache):
    """A game seed whose first dialog with the (feedback-blind) nearest-neighbour agent lasts all five turns."""
    for seed in range(40):
        game = make_game(catalog, vocab, agents, tmp_path / f"probe-{seed}", session_cache, seed=seed)
        session = game.new_session("play", "nearest-neighbour")
        for _ in range(TURNS):
            game.answer(session.id, "is red")
        if not session.dialog.found:
            return seed
    raise AssertionError("no seed in 0..39 gives a five-turn dialog")


def test_browser_plays_a_dialog_and_a_whittlesearch_dialog(browser, tiny_catalog, vocab, agents, tmp_path,
                                                           session_cache, capsys):
    from selenium.webdriver.support.ui import WebDriverWait

    from benchmarks.play.browser import grammar_sentences, images_loaded, play_dialog

    seed = five_turn_seed(tiny_catalog, vocab, agents, tmp_path, session_cache)
    game = make_game(tiny_catalog, vocab, agents, tmp_path, session_cache, seed=seed)
    grammar = grammar_sentences(tiny_catalog)
    hostile = '<img src=x onerror="window.pwned=1"> & are red'

    def person(target, shown, turn):
        return hostile if turn == 1 else grammar(target, shown, turn)

    with BackgroundServer(create_app(game)) as server:
        played = play_dialog(browser, server.url, "play", "nearest-neighbour", person)
        assert images_loaded(browser)
        assert browser.execute_script("return window.pwned === undefined")
        assert len(played["said"]) == TURNS and len(played["rows"]) == TURNS + 1
        assert played["title"].startswith("After 5 turns the target is at position")
        said = [" ".join(s.split()) for s in played["said"]]
        assert [row[2] for row in played["rows"]] == [*said, "-"]  # the hostile sentence shown as text
        assert browser.find_element("css selector", "#target").get_attribute("src").endswith(
            f"/api/images/{played['target']}.png")
        record = check_record(json.loads(game.log_path.read_text().splitlines()[0]))
        assert record["target"] == played["target"] and record["shown"] == played["shown"]
        assert record["sentences"] == said
        assert [row[3] for row in played["rows"]] == [str(r + 1) for r in record["ranks"]]  # positions from 1

        buttons = [[("shiny", "more"), ("pointy", "less")], [("high-heeled", "more")], [("bright", "less")],
                   [("formal", "more"), ("sporty", "less"), ("long", "more")], [("open", "less")]]
        whittle = play_dialog(browser, server.url, "whittlesearch", None, lambda t, s, turn: buttons[turn])
        taken = len(whittle["rows"]) - 1
        assert 1 <= taken <= TURNS and (taken == TURNS or whittle["title"].startswith("The agent showed the target"))
        assert whittle["rows"][0][2] == "less pointy more shiny"

        browser.find_element("id", "mode-watch").click()
        browser.find_element("id", "start").click()
        WebDriverWait(browser, 20).until(lambda d: d.find_element("id", "watch-controls").is_displayed())
        first_sentence = browser.find_element("id", "watch-sentence").text
        assert first_sentence and "position" in browser.find_element("id", "watch-rank").text
        browser.find_element("id", "play-all").click()
        WebDriverWait(browser, 20).until(lambda d: d.find_element("id", "result").is_displayed())
        rows = browser.find_elements("css selector", "#ranks tbody tr")
        assert 2 <= len(rows) <= TURNS + 1 and rows[0].find_elements("tag name", "td")[2].text == first_sentence
        assert images_loaded(browser)

    lines = game.log_path.read_text().splitlines()  # watched dialogs are simulations, not logged
    assert [json.loads(line)["mode"] for line in lines] == ["play", "whittlesearch"]
    assert json.loads(lines[1])["sentences"][0] == "less pointy more shiny"
    play_main(["--summary", str(game.log_path)])
    out = capsys.readouterr().out
    assert "2 dialogs" in out and "nearest-neighbour" in out and "whittlesearch" in out
