"""Generate docs/tutorial.ipynb from docs/tutorial.md (the one source of the tutorial).

    python docs/make_notebook.py            # (re)write docs/tutorial.ipynb
    python docs/make_notebook.py --check    # exit 1 when the notebook is out of date
    python docs/make_notebook.py --site-url https://example.org/tinygrad_attn/   # link pages there

The Markdown page is the source: jupytext turns its ```python blocks into code cells and
everything else into Markdown cells. Shell blocks (```bash) stay Markdown (they are
commands to type, e.g. a three-epoch training run, not notebook code). The notebook must run
anywhere, not only inside docs/ of a checkout:

* a first code cell installs the package, which is not on PyPI, from a checkout or a wheel
  (it does nothing when the package is already importable), then ``%matplotlib inline``;
* the page's pictures (``assets/...``) are embedded in their cells as attachments;
* links to other pages become links to the published pages when a site URL is given
  (``--site-url``, or ``site_url`` in mkdocs.yml), else plain text naming the page's file
  (``docs/results.md``); MkDocs-only syntax (``{ #id }``, ``{ width="49%" }``) is dropped.

The notebook is written without outputs; tests/test_notebook.py executes it and checks that
it matches this script's output. Needs the dev extra (jupytext, nbformat).
"""
from __future__ import annotations

import argparse
import base64
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "tutorial.md"
TARGET = HERE / "tutorial.ipynb"

HEADER = ("# tinygrad_attn: the attention chapter, step by step\n\n"
          "This notebook is the [tutorial](tutorial.md) of tinygrad_attn, a small autograd "
          "framework on NumPy with the attention seq2seq of *Deep Learning from Scratch 2* "
          "(밑바닥부터 시작하는 딥러닝 2), chapter 8. **Run the first code cell first**: it "
          "installs the package, which is not on PyPI, from a checkout of its repository (when "
          "this notebook is opened from the checkout's `docs/` folder, nothing needs changing) or "
          "from a wheel file (in Colab: upload the wheel, built in a checkout with "
          "`python -m pip wheel --no-deps -w dist .`, and set `SOURCE` to its path). Then run the "
          "cells in order: each continues the previous one.")

INSTALL = """# Install tinygrad_attn (not on PyPI) unless it is importable already:
# SOURCE is a checkout of the repository (its root folder) or a wheel file (.whl).
import importlib.util, os, subprocess, sys

SOURCE = os.environ.get("TINYGRAD_ATTN_SOURCE", "..")   # this notebook sits in the checkout's docs/
if importlib.util.find_spec("tinygrad_attn") is None:
    is_checkout = os.path.isfile(os.path.join(SOURCE, "pyproject.toml"))
    if not (is_checkout or (SOURCE.endswith(".whl") and os.path.isfile(SOURCE))):
        raise FileNotFoundError(
            f"tinygrad_attn is not installed, and {os.path.abspath(SOURCE)!r} is neither a "
            "checkout of its repository nor a wheel file: set SOURCE to one of them")
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", f"{SOURCE}[viz]"])
    importlib.invalidate_caches()
print("tinygrad_attn from", os.path.dirname(importlib.util.find_spec("tinygrad_attn").origin))"""

_ATTR = re.compile(r"[ \t]*\{[ \t]*(#[\w-]+|width=\"[^\"]*\")[^}]*\}")
_IMAGE = re.compile(r"!\[([^\]]*)\]\((assets/[^)\s]+)\)")
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(((?!https?:|mailto:|#|attachment:)[^)\s]+)\)")
_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def site_url_from_mkdocs():
    """``site_url`` of mkdocs.yml (with a trailing slash), or None when it has none."""
    conf = HERE.parent / "mkdocs.yml"
    if not conf.is_file():
        return None
    m = re.search(r"^site_url:\s*(\S+)\s*$", conf.read_text(encoding="utf-8"), re.M)
    return None if m is None else m.group(1).rstrip("/") + "/"


def _page_url(target, site_url):
    """``results.md#x`` -> ``<site>/results/#x`` (MkDocs' directory URLs)."""
    path, _, anchor = target.partition("#")
    if path.endswith(".md"):
        path = path[:-3]
        path = "" if path == "index" else path + "/"
    return site_url + path + (f"#{anchor}" if anchor else "")


def portable_markdown(text, site_url=None, assets=HERE):
    """A Markdown cell's text made to work outside docs/: ``(text, attachments)``.

    Images under ``assets/`` become attachments (``attachment:name``); links to pages become
    links to ``site_url`` (or plain text naming the file under docs/ when it is None); MkDocs
    attribute lists are dropped. A missing image raises FileNotFoundError.
    """
    text = _ATTR.sub("", text)
    attachments = {}

    def image(m):
        path = assets / m.group(2)
        if not path.is_file():
            raise FileNotFoundError(f"make_notebook: the page shows {m.group(2)}, which does not exist")
        mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
        attachments[path.name] = {mime: base64.b64encode(path.read_bytes()).decode("ascii")}
        return f"![{m.group(1)}](attachment:{path.name})"

    def link(m):
        label, target = m.group(1), m.group(2)
        if site_url:
            return f"[{label}]({_page_url(target, site_url)})"
        page = target.partition("#")[0]
        return f"{label} (`docs/{page}`)" if page else label

    text = _IMAGE.sub(image, text)
    text = _LINK.sub(link, text)
    return text, attachments


def build(markdown: str, site_url=None):
    """The tutorial notebook (an ``nbformat`` NotebookNode, no outputs) for a Markdown text.

    Args:
        markdown: the text of docs/tutorial.md.
        site_url: where the documentation is published (links to other pages go there), or
            None (they become plain text).

    Returns:
        A version-4 notebook: a header cell, the install cell, ``%matplotlib inline``, then
        one cell per block of the page (its title dropped: the header has it), with ``python``
        blocks as code cells and shell blocks as Markdown; pictures embedded.
    """
    import jupytext
    import nbformat

    nb = jupytext.reads(markdown, fmt="md")
    header, _ = portable_markdown(HEADER.replace("[tutorial](tutorial.md)", "tutorial"), site_url)
    cells = [nbformat.v4.new_markdown_cell(header), nbformat.v4.new_code_cell(INSTALL),
             # notebook only: figures returned as a cell's last expression are shown inline
             nbformat.v4.new_code_cell("%matplotlib inline")]
    for k, cell in enumerate(nb.cells):
        source = cell.source
        if k == 0 and cell.cell_type == "markdown" and source.startswith("# "):
            source = source.partition("\n")[2].lstrip("\n")   # the page title: in the header
            if not source:
                continue
        if cell.cell_type == "code" and source.startswith("%%"):  # a ```bash block
            lang, _, body = source.partition("\n")
            cells.append(nbformat.v4.new_markdown_cell(f"```{lang[2:].strip()}\n{body}\n```"))
        elif cell.cell_type == "code":
            cells.append(nbformat.v4.new_code_cell(source))
        else:
            text, attachments = portable_markdown(source, site_url)
            md = nbformat.v4.new_markdown_cell(text)
            if attachments:
                md["attachments"] = attachments
            cells.append(md)
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                   "language": "python"},
                    "language_info": {"name": "python"}}
    for i, cell in enumerate(out.cells):  # stable ids: regenerating gives the same file
        cell["id"] = f"cell-{i}"
    return out


def render(markdown: str, site_url=None) -> str:
    """The notebook file's text for a Markdown text (what :func:`build` gives, serialised)."""
    import nbformat

    return nbformat.writes(build(markdown, site_url)) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="only check that the notebook is current")
    p.add_argument("--site-url", default=None,
                   help="where the documentation is published: links to other pages point "
                        "there (default: mkdocs.yml's site_url; without one, links become text)")
    args = p.parse_args(argv)
    text = render(SOURCE.read_text(encoding="utf-8"), args.site_url or site_url_from_mkdocs())
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.is_file() else ""
        if current != text:
            print(f"{TARGET} is out of date: run python docs/make_notebook.py", file=sys.stderr)
            return 1
        print(f"{TARGET} is up to date")
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
