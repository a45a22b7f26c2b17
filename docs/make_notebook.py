"""Generate docs/tutorial.ipynb from docs/tutorial.md (the one source of the tutorial).

    python docs/make_notebook.py            # (re)write docs/tutorial.ipynb
    python docs/make_notebook.py --check    # exit 1 when the notebook is out of date

The Markdown page is the source: jupytext turns its ```python blocks into code cells and
everything else into Markdown cells. Shell blocks (```bash) stay Markdown (they are
commands to type, e.g. a three-epoch training run, not notebook code); a first code cell
``%matplotlib inline`` lets the figures that end a cell show in the notebook. The notebook is
written without outputs; tests/test_notebook.py executes it and checks that it matches
this script's output. Needs the dev extra (jupytext, nbformat).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "tutorial.md"
TARGET = HERE / "tutorial.ipynb"

HEADER = ("*This notebook is generated from `docs/tutorial.md` by `docs/make_notebook.py`: "
          "edit the Markdown page, then rerun the script.* It needs the package installed "
          "(`python -m pip install -e \".[viz]\"` in a checkout of the repository).")


def build(markdown: str):
    """The tutorial notebook (an ``nbformat`` NotebookNode, no outputs) for a Markdown text.

    Args:
        markdown: the text of docs/tutorial.md.

    Returns:
        A version-4 notebook: a header cell, ``%matplotlib inline``, then one cell per block
        of the page, with ``python`` blocks as code cells and shell blocks as Markdown.
    """
    import jupytext
    import nbformat

    nb = jupytext.reads(markdown, fmt="md")
    # notebook only: figures returned as a cell's last expression are shown inline
    cells = [nbformat.v4.new_markdown_cell(HEADER), nbformat.v4.new_code_cell("%matplotlib inline")]
    for cell in nb.cells:
        source = cell.source
        if cell.cell_type == "code" and source.startswith("%%"):  # a ```bash block
            lang, _, body = source.partition("\n")
            cells.append(nbformat.v4.new_markdown_cell(f"```{lang[2:].strip()}\n{body}\n```"))
        elif cell.cell_type == "code":
            cells.append(nbformat.v4.new_code_cell(source))
        else:
            cells.append(nbformat.v4.new_markdown_cell(source))
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                   "language": "python"},
                    "language_info": {"name": "python"}}
    for i, cell in enumerate(out.cells):  # stable ids: regenerating gives the same file
        cell["id"] = f"cell-{i}"
    return out


def render(markdown: str) -> str:
    """The notebook file's text for a Markdown text (what :func:`build` gives, serialised)."""
    import nbformat

    return nbformat.writes(build(markdown)) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="only check that the notebook is current")
    args = p.parse_args(argv)
    text = render(SOURCE.read_text(encoding="utf-8"))
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
