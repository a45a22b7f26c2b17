"""The documentation is executable: every ```python block of every page runs, in order.

* One test per page (``docs/**/*.md`` and ``README.md``): the page's ``python`` blocks run in
  one fresh namespace (the tutorial page runs as a Jupyter notebook in tests/test_notebook.py
  instead, when a kernel is available; here otherwise), in a temporary working directory, with matplotlib's Agg backend
  (pages without python blocks are only checked for unclosed fences).
  Blocks fenced as ``text``, ``bash``, ``console`` (anything but ``python``/``py``) are
  only shown, never run. A block preceded by the line ``<!-- docs-test: skip -->`` is
  skipped too (for code that needs hardware the test machine may lack).
* Shown output is checked: a ``text`` block that directly follows a ``python`` block (only
  blank lines between) is that block's output, and must equal what the block prints
  (trailing spaces and blank lines aside; ``...`` inside the shown text stands for any text,
  as in doctest's ELLIPSIS). An output that varies from run to run (times, a training run on
  another machine) is marked with ``<!-- docs-test: output varies -->`` right before its text
  block and is not compared; the page must say so in words next to it ("vary", "differ").
* ``mkdocs build --strict`` succeeds when MkDocs and its plugins are installed.
* Every public function and class of ``tinygrad_attn`` (and ``tinygrad_attn_models``) has a docstring.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import io
import os
import pkgutil
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

SKIP_MARK = "<!-- docs-test: skip -->"
VARIES_MARK = "<!-- docs-test: output varies -->"
_SAYS_VARIES = re.compile(r"\b(vary|varies|varying|differ|differs|different|run to run)\b", re.I)
RUN_LANGS = {"python", "py"}
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")


# ----------------------------------------------------------------------------- block extraction
def extract_blocks(text: str):
    """Return the fenced code blocks of a Markdown text.

    Args:
        text: the Markdown source.

    Returns:
        A list of ``(lang, first_code_line, code, skipped)`` tuples: ``lang`` is the first
        word of the info string (lower case, braces and dots stripped), ``first_code_line`` the
        1-based line number of the code's first line, ``code`` the dedented body, ``skipped``
        whether the block is preceded by the skip marker.

    Raises:
        ValueError: for a fence that is never closed (the message names its line).
    """
    lines = text.split("\n")
    blocks = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.group("indent"), m.group("fence"), m.group("info").strip()
        word = info.split()[0] if info else ""
        lang = word.strip("{}").lstrip(".").lower()
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        skipped = j >= 0 and lines[j].strip() == SKIP_MARK
        close = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{%d,}[ \t]*$" % len(fence))
        k = i + 1
        while k < len(lines) and not close.match(lines[k]):
            k += 1
        if k == len(lines):
            raise ValueError(f"line {i + 1}: code fence {fence}{info} is never closed")
        body = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip()
                for ln in lines[i + 1:k]]
        blocks.append((lang, i + 2, textwrap.dedent("\n".join(body)), skipped))
        i = k + 1
    return blocks


def _pages():
    pages = sorted(DOCS.rglob("*.md")) if DOCS.is_dir() else []
    readme = ROOT / "README.md"
    if readme.is_file():
        pages.append(readme)
    return pages


PAGES = _pages()


def shown_outputs(text: str):
    """The outputs a page shows for its python blocks.

    Returns:
        ``{index of the python block among the page's blocks: (expected text, varies, line)}``
        for every ``text`` block that directly follows a ``python`` block (only blank lines
        between); ``varies`` when the marker precedes it.

    Raises:
        ValueError: a varies-marked block whose page says nothing about varying next to it.
    """
    lines = text.split("\n")
    blocks = extract_blocks(text)
    out = {}
    for i in range(len(blocks) - 1):
        (lang, line, code, _), (lang2, line2, body, _) = blocks[i], blocks[i + 1]
        if lang not in RUN_LANGS or lang2 != "text":
            continue
        end = line - 1 + code.count("\n") + 1          # the python block's closing fence (0-based)
        between = [ln.strip() for ln in lines[end + 1:line2 - 2]]
        varies = VARIES_MARK in between
        if any(b and b != VARIES_MARK for b in between):
            continue                                      # prose between: not its output
        if varies:
            close = line2 - 1 + body.count("\n") + 1
            near = "\n".join(lines[max(0, line - 12):line - 2] + lines[close + 1:close + 6])
            if not _SAYS_VARIES.search(near):
                raise ValueError(f"line {line2}: an output marked as varying must say so in the "
                                 "page next to it (e.g. 'your numbers will differ')")
        out[i] = (body, varies, line2)
    return out


def output_mismatch(expected: str, got: str):
    """None when ``got`` matches the shown ``expected`` (trailing spaces and blank lines aside,
    ``...`` matching any text), else a short description of the first differing line."""
    def norm(t):
        rows = [ln.rstrip() for ln in t.strip("\n").split("\n")]
        while rows and not rows[-1]:
            rows.pop()
        return rows

    want, have = norm(expected), norm(got)
    pattern = "\n".join(re.escape(r).replace(re.escape("..."), ".*?") for r in want)
    if re.fullmatch(pattern, "\n".join(have), re.S):
        return None
    for k, (w, h) in enumerate(zip(want, have)):
        if not re.fullmatch(re.escape(w).replace(re.escape("..."), ".*?"), h):
            return f"line {k + 1} shown {w!r}, printed {h!r}"
    return (f"shown {len(want)} lines, printed {len(have)}: "
            f"{(want[len(have):] or have[len(want):])[:2]!r}")


def _page_id(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


def test_extract_blocks_languages_lines_and_skip_marker():
    md = textwrap.dedent("""\
        # t

        ```python
        a = 1
        ```

        ```text
        not code
        ```

        !!! note
            ```python
            b = a + 1
            ```

        <!-- docs-test: skip -->
        ```python
        raise SystemExit
        ```
        """)
    blocks = extract_blocks(md)
    assert [(b[0], b[1], b[3]) for b in blocks] == [
        ("python", 4, False), ("text", 8, False), ("python", 13, False), ("python", 18, True)]
    assert blocks[2][2].strip() == "b = a + 1"
    with pytest.raises(ValueError, match="line 1"):
        extract_blocks("```python\nx = 1\n")


def test_the_home_page_lists_every_page():
    table = (DOCS / "index.md").read_text(encoding="utf-8").split("## The pages", 1)[1]
    linked = set(re.findall(r"\]\(([\w-]+\.md)\)", table))
    pages = {p.name for p in DOCS.glob("*.md")} - {"index.md"}
    assert not pages - linked, f"docs/index.md's page table misses {sorted(pages - linked)}"


def test_no_internal_language_in_the_docs():
    """Pages speak to readers: no tracker references ("issue 16", "#16")."""
    bad = []
    for page in PAGES:
        for k, line in enumerate(page.read_text(encoding="utf-8").split("\n"), 1):
            if re.search(r"\bissues? #?\d+\b|\bthe (performance |lead's )?issue\b", line, re.I):
                bad.append(f"{_page_id(page)}:{k}: {line.strip()[:80]}")
    assert not bad, "\n".join(bad)


def test_shown_outputs_and_their_comparison():
    md = textwrap.dedent("""\
        ```python
        print(1)
        ```

        ```text
        1
        ```

        ```python
        print(2)
        ```
        Then prose.
        ```text
        not an output
        ```

        Times vary from run to run:

        ```python
        print("3.2 s")
        ```
        <!-- docs-test: output varies -->
        ```text
        2.9 s
        ```
        """)
    got = shown_outputs(md)
    assert sorted(got) == [0, 4] and got[0][:2] == ("1", False) and got[4][1]
    with pytest.raises(ValueError, match="must say so"):
        shown_outputs(md.replace("Times vary from run to run:", "Times:"))
    assert output_mismatch("a\nb  \n\n", "a\nb\n") is None
    assert output_mismatch("loss ... (took ... s)", "loss 0.25 (took 3.1 s)") is None
    assert "line 2 shown 'b', printed 'c'" in output_mismatch("a\nb", "a\nc")
    assert "shown 1 lines, printed 2" in output_mismatch("a", "a\nextra")


@pytest.fixture
def docs_env(tmp_path, monkeypatch):
    """A clean place to run a page: tmp cwd, Agg backend, repo importable, state restored."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.syspath_prepend(str(ROOT))
    import tinygrad_attn as ta

    from tinygrad_attn import anomaly

    saved = {k: getattr(ta.Config, k) for k in ("enable_backprop", "train", "scope")}
    saved_hook = anomaly.hook
    yield tmp_path
    for k, v in saved.items():
        setattr(ta.Config, k, v)
    anomaly.hook = saved_hook
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def _runs_as_notebook(page):
    """Whether tests/test_notebook.py executes this page (the tutorial, when a Jupyter kernel
    is available), so that its training run is not done twice; ``(bool, reason)``."""
    if page != DOCS / "tutorial.md":
        return False, ""
    spec = importlib.util.spec_from_file_location("_test_notebook", ROOT / "tests" / "test_notebook.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.kernel_available()


@pytest.mark.parametrize("page", PAGES, ids=[_page_id(p) for p in PAGES])
def test_page_code_runs(page, docs_env):
    as_notebook, _ = _runs_as_notebook(page)
    if as_notebook:
        pytest.skip("docs/tutorial.md is executed as a notebook by tests/test_notebook.py")
    text = page.read_text(encoding="utf-8")
    # A page without python blocks still passes through extract_blocks, which fails on an
    # unclosed fence (that would swallow the rest of the page when rendered).
    all_blocks = extract_blocks(text)
    shown = shown_outputs(text)
    ns = {"__name__": "__main__", "__file__": str(docs_env / "page.py")}
    mismatches = []
    for i, (lang, line, code, skipped) in enumerate(all_blocks):
        if lang not in RUN_LANGS or skipped:
            continue
        # Pad with newlines so tracebacks show the line number in the Markdown file.
        src = "\n" * (line - 1) + code
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                exec(compile(src, str(page), "exec"), ns)
        except Exception as e:
            raise AssertionError(f"{_page_id(page)}: the python block starting at line {line} "
                                 f"failed with {type(e).__name__}: {e}") from e
        if i in shown and not shown[i][1]:
            why = output_mismatch(shown[i][0], buf.getvalue())
            if why:
                mismatches.append(f"output shown at line {shown[i][2]}: {why}")
    assert not mismatches, f"{_page_id(page)}: " + "; ".join(mismatches)


# ----------------------------------------------------------------------------- mkdocs build
def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False


def test_mkdocs_build_strict(tmp_path):
    missing = [m for m in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
               if not _importable(m)]
    if missing:
        pytest.skip(f"the docs extra is not installed ({', '.join(missing)} missing): "
                    f'pip install -e ".[docs]"')
    if not (ROOT / "mkdocs.yml").is_file():
        pytest.fail("mkdocs.yml is missing")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{out}"
    warnings = [ln for ln in out.splitlines() if "WARNING" in ln or "ERROR" in ln]
    assert not warnings, "\n".join(warnings)
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "api" / "core" / "index.html").is_file()


# ----------------------------------------------------------------------------- docstrings
def _modules_with_all():
    """tinygrad_attn, tinygrad_attn.functions, tinygrad_attn_models, and every submodule defining __all__."""
    import tinygrad_attn

    mods = [tinygrad_attn, importlib.import_module("tinygrad_attn.functions")]
    packages = [tinygrad_attn]
    if importlib.util.find_spec("tinygrad_attn_models") is not None:
        models = importlib.import_module("tinygrad_attn_models")
        mods.append(models)
        packages.append(models)
    for pkg in packages:
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."):
            if info.name.split(".")[-1] == "__main__":
                continue
            mod = importlib.import_module(info.name)
            if hasattr(mod, "__all__") and mod not in mods:
                mods.append(mod)
    return mods


def undocumented(modules):
    """Names in the modules' ``__all__`` that are functions/classes/modules without a docstring.

    Args:
        modules: module objects, each with an ``__all__`` list.

    Returns:
        ``(checked, missing)``: how many objects were checked, and the qualified names of
        those lacking a docstring (or listed in ``__all__`` but not defined).
    """
    missing = []
    checked = 0
    for mod in modules:
        for name in mod.__all__:
            if not hasattr(mod, name):
                missing.append(f"{mod.__name__}.{name} (listed in __all__ but not defined)")
                continue
            obj = getattr(mod, name)
            if not (inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isroutine(obj)
                    or (callable(obj) and hasattr(obj, "__wrapped__"))):
                continue  # constants
            checked += 1
            doc = obj.__doc__  # a class's own __doc__: never inherited from its base
            if not (doc and doc.strip()):
                missing.append(f"{mod.__name__}.{name}")
    return checked, sorted(set(missing))


def test_undocumented_detects_missing_docstrings():
    import types

    mod = types.ModuleType("fake")

    def documented():
        """Has one."""

    def bare():
        pass

    class Base:
        """Documented base."""

    class Child(Base):  # inherits nothing: class docstrings are not inherited
        pass

    mod.documented, mod.bare, mod.Child, mod.CONST = documented, bare, Child, 3
    mod.__all__ = ["documented", "bare", "Child", "CONST", "ghost"]
    checked, missing = undocumented([mod])
    assert checked == 3
    assert missing == ["fake.Child", "fake.bare", "fake.ghost (listed in __all__ but not defined)"]


def test_public_api_has_docstrings():
    checked, missing = undocumented(_modules_with_all())
    assert checked > 50, f"only {checked} public objects found; is __all__ walked correctly?"
    assert not missing, "public objects without a docstring:\n  " + "\n  ".join(missing)
