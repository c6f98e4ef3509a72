"""The Markdown docs stay true to the tree: relative links resolve, their anchors exist, and every
`python -m module` they name is importable (found, never imported or run)."""

import importlib.util
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"", re.I)
PYTHON_M = re.compile(r"python3?\s+-m\s+([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")


def _without_code(text: str) -> str:
    """The prose of a page: fenced blocks and inline code removed (a link inside code is not a link)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def _is_relative(target: str) -> bool:
    return not (re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith(("#", "//")))


def links(page: Path) -> list[str]:
    """Every link target of `page` (inline, image and reference-style), code left out."""
    prose = _without_code(page.read_text(encoding="utf-8"))
    return [*LINK.findall(prose), *REFERENCE.findall(prose)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the link text kept, lower case, punctuation but '-' and '_' removed,
    spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # [text](url) -> text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub makes for `page`: one per heading (repeats get -1, -2, ...), plus HTML ids."""
    text = page.read_text(encoding="utf-8")
    seen: dict[str, int] = {}
    found = set(HTML_ANCHOR.findall(text))
    for heading in HEADING.findall(FENCE.sub("", text)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def modules(page: Path) -> list[str]:
    """Every module a page runs as `python -m module`, in code or in prose."""
    return PYTHON_M.findall(page.read_text(encoding="utf-8"))


def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package that is missing or is not a package
        return False


def broken_links(page: Path) -> list[str]:
    """Relative links of `page` whose file is missing, or whose #anchor names no heading of its .md target."""
    broken = []
    for target in links(page):
        if target.startswith("#"):
            path, anchor = page, target[1:]
        elif _is_relative(target):
            file, _, anchor = target.partition("#")
            path = (page.parent / unquote(file)).resolve()
            if not path.exists():
                broken.append(f"{target} (no such file)")
                continue
        else:
            continue
        if anchor and path.suffix == ".md" and unquote(anchor).lower() not in anchors(path):
            broken.append(f"{target} (no heading #{anchor} in {_show(path)})")
    return broken


def missing_modules(page: Path) -> list[str]:
    return sorted({name for name in modules(page) if not module_exists(name)})


def _show(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _name(page: Path) -> str:
    return _show(page)


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_relative_links_resolve(page):
    broken = broken_links(page)
    assert not broken, "broken links:\n" + "\n".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_python_m_names_an_importable_module(page):
    missing = missing_modules(page)
    assert not missing, "`python -m` of modules that do not exist: " + ", ".join(missing)


def test_the_checks_can_fail(tmp_path):
    (tmp_path / "other.md").write_text("# A heading, with punctuation!\n\n## Same\n\n## Same\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Top\n\n[fine](other.md#a-heading-with-punctuation) [repeat](other.md#same-1) [self](#top)\n"
        "[gone](missing.md) [bad anchor](other.md#nowhere) [self bad](#bottom) [web](https://example.com/x)\n"
        "`[in code](missing-too.md)`\n\n```bash\npython -m benchmarks.nope\npython -m benchmarks.main\n```\n"
        "Run `python -m\nbenchmarks.reports.nope` too.\n",
        encoding="utf-8")
    assert broken_links(page) == [
        "missing.md (no such file)",
        f"other.md#nowhere (no heading #nowhere in {(tmp_path / 'other.md').resolve()})",
        f"#bottom (no heading #bottom in {page.resolve()})",
    ]
    assert missing_modules(page) == ["benchmarks.nope", "benchmarks.reports.nope"]
    assert slug("Nearest-neighbour index (`python -m benchmarks.knn`) — *world v2*") == (
        "nearest-neighbour-index-python--m-benchmarksknn--world-v2")

