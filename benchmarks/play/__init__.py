"""A person plays the shopper: the paper's user study (Guo et al., NeurIPS 2018, section 5.3) as a local web page.

    python -m benchmarks.play [--catalog full|tiny] [--port 8000]     # serve the page on 127.0.0.1
    python -m benchmarks.play --summary LOG                           # the user-study table of a dialog log
    python -m benchmarks.play --replay LOG --agent NAME               # an agent against people's logged words

Three modes: Play (type how the shoe you want differs from the one shown, five turns, against a
trained dialog manager or a baseline), WhittleSearch (more/less buttons for the ten attributes,
against WhittleSearch) and Watch (a simulated dialog replayed turn by turn). Every finished dialog of a
person is appended to a log (`benchmarks.play.log`), whose `ReplayUser` answers with people's words.

Modules: `game` (dialogs, sessions, agents), `log` (the log, its summary, the replay user), `app` (the
FastAPI app), `page` (HTML, script, style), `browser` (headless Chromium: tests and the screenshot).
"""

from benchmarks.play.log import ReplayUser, UnloggedPairError, append_record, read_log, summarise

__all__ = ["ReplayUser", "UnloggedPairError", "append_record", "read_log", "summarise"]
