"""The tutorial as a Jupyter notebook: generated from docs/tutorial.md, up to date, and it runs.

* docs/tutorial.ipynb is exactly what docs/make_notebook.py makes of docs/tutorial.md (one
  source: the Markdown page; the notebook never drifts from it).
* The notebook executes top to bottom in a real Jupyter kernel (nbclient), in a temporary
  folder. This is the tutorial's execution test; tests/test_docs.py leaves the tutorial
  page to it whenever a kernel is available (see :func:`kernel_available`).

Needs the dev extra (jupytext, nbformat, nbclient, ipykernel); without it, or without a
startable kernel, the tests skip and say why.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOTEBOOK_PACKAGES = ("jupytext", "nbformat", "nbclient", "ipykernel")


def _make_notebook_module():
    spec = importlib.util.spec_from_file_location("make_notebook", DOCS / "make_notebook.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def missing_packages():
    """The notebook packages that are not installed (an empty list when all are)."""
    return [m for m in NOTEBOOK_PACKAGES if importlib.util.find_spec(m) is None]


def kernel_available():
    """``(True, "")`` when the notebook packages and a ``python3`` kernel spec are there,
    else ``(False, reason)``."""
    missing = missing_packages()
    if missing:
        return False, (f"notebook packages missing ({', '.join(missing)}): "
                       'pip install -e ".[dev]"')
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel as e:
        return False, f"no python3 Jupyter kernel: {e}"
    return True, ""


def test_notebook_is_generated_from_the_tutorial_page():
    for m in ("jupytext", "nbformat"):
        pytest.importorskip(m, reason=f'{m} is needed to build the notebook: pip install -e ".[dev]"')
    make = _make_notebook_module()
    expected = make.render((DOCS / "tutorial.md").read_text(encoding="utf-8"))
    current = (DOCS / "tutorial.ipynb").read_text(encoding="utf-8")
    assert current == expected, "docs/tutorial.ipynb is out of date: run python docs/make_notebook.py"
    import nbformat

    nb = nbformat.reads(current, as_version=4)
    nbformat.validate(nb)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code and not any(c.startswith("%%") for c in code)  # shell blocks stay Markdown
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def shown_output_mismatches(nb):
    """For every code cell followed by a Markdown cell that shows its output (a ```text block,
    not marked as varying), how what the cell printed differs from what the page shows."""
    docs_tests = _docs_test_module()
    out = []
    cells = nb.cells
    for i, cell in enumerate(cells[:-1]):
        nxt = cells[i + 1]
        if cell.cell_type != "code" or nxt.cell_type != "markdown":
            continue
        text = nxt.source.lstrip()
        if text.startswith(docs_tests.VARIES_MARK) or not text.startswith("```text"):
            continue
        shown = text.split("\n", 1)[1].split("```", 1)[0]
        printed = "".join(o.get("text", "") for o in cell.get("outputs", [])
                          if o.output_type == "stream" and o.get("name") == "stdout")
        why = docs_tests.output_mismatch(shown, printed)
        if why:
            out.append(f"cell {i} ({cell.source.splitlines()[0][:40]!r}): {why}")
    return out


def _docs_test_module():
    spec = importlib.util.spec_from_file_location("_test_docs", ROOT / "tests" / "test_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_notebook_runs_outside_docs_links_pictures_and_install_cell():
    """No link or picture that only resolves inside docs/, no MkDocs-only syntax, and a first
    code cell that installs the package from a checkout or a wheel (and says it is not on PyPI)."""
    import re

    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(DOCS / "tutorial.ipynb", as_version=4)
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    for c in md:
        for target in re.findall(r"\]\(([^)\s]+)\)", c.source):
            assert target.startswith(("http://", "https://", "attachment:", "#")), target
            if target.startswith("attachment:"):
                assert target[len("attachment:"):] in c.get("attachments", {}), target
        assert not re.search(r"\{\s*(#[\w-]+|width=)", c.source), c.source[:80]
    pictures = len(re.findall(r"!\[[^\]]*\]\(assets/", (DOCS / "tutorial.md").read_text(encoding="utf-8")))
    assert sum(len(c.get("attachments", {})) for c in md) == pictures > 0
    assert "not on PyPI" in md[0].source
    install = next(c for c in nb.cells if c.cell_type == "code").source
    assert "pip" in install and "SOURCE" in install and ".whl" in install


def test_install_cell_installs_only_when_missing(tmp_path, monkeypatch):
    """The install cell does nothing when the package imports; otherwise it pip-installs
    SOURCE (a checkout or a wheel) with the viz extra, and refuses anything else in one line."""
    import subprocess

    make = _make_notebook_module()
    calls = []
    monkeypatch.setattr(subprocess, "check_call", lambda cmd: calls.append(cmd))
    exec(make.INSTALL, {})                            # installed: no pip call
    assert calls == []
    import importlib.util as iu

    real = iu.find_spec
    monkeypatch.setattr(iu, "find_spec", lambda name, *a: None if name == "tinygrad_attn"
                        and not calls else real(name, *a))
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "pyproject.toml").write_text("")
    monkeypatch.setenv("TINYGRAD_ATTN_SOURCE", str(checkout))
    exec(make.INSTALL, {})
    assert calls and calls[0][-1] == f"{checkout}[viz]" and calls[0][1:4] == ["-m", "pip", "install"]
    calls.clear()
    monkeypatch.setenv("TINYGRAD_ATTN_SOURCE", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="neither a checkout of its repository nor a wheel"):
        exec(make.INSTALL, {})


def test_tutorial_notebook_executes(tmp_path, monkeypatch):
    ok, reason = kernel_available()
    if not ok:
        pytest.skip(reason)
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(DOCS / "tutorial.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.km = client.create_kernel_manager()
    try:
        client.start_new_kernel()
        client.start_new_kernel_client()
    except Exception as e:  # noqa: BLE001 - any failure to start is "no kernel here"
        client._cleanup_kernel()
        pytest.skip(f"a Jupyter kernel could not be started: {type(e).__name__}: {e}")
    with client.setup_kernel():  # uses the started kernel; shuts it down at the end
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)  # raises CellExecutionError naming the cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    mismatches = shown_output_mismatches(nb)
    assert not mismatches, "; ".join(mismatches)
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "validation exact match" in text and "values equal: True" in text
    for picture in ("history.png", "attention.png", "attention-padding.png"):
        assert (tmp_path / picture).stat().st_size > 0, picture
    shown = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(shown) >= 3  # the figures that end a cell appear in the notebook itself
