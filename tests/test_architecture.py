"""The shape of the code: the import contract, the installed package names, model plug-ins.

* the layers of ``tinygrad_attn`` point one way and the framework never imports its models
  (import-linter's contracts in ``pyproject.toml``, and an AST walk that needs no tool);
* ``models/`` is installed as ``tinygrad_attn_models``: a user's own ``models.py`` cannot
  shadow it;
* a model defined outside the repository plugs in through the ``tinygrad_attn.models``
  entry-point group, trains and reloads through the command line.
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "tinygrad_attn"


def _run(args, cwd, env_extra=None, timeout=300):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.update(env_extra or {})
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    else:
        parts = parts[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[:len(parts) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def test_the_framework_never_imports_the_models():
    offenders = []
    for path in PKG.rglob("*.py"):
        for mod in _imported_modules(path, "tinygrad_attn"):
            top = mod.split(".")[0]
            if top in ("models", "tinygrad_attn_models"):
                offenders.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not offenders, "\n".join(offenders)


def test_import_contract_with_import_linter():
    exe = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which(
        "lint-imports")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("import-linter is not installed (it is in the 'dev' extra)")
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    r = _run([exe], cwd=ROOT)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_the_import_contract_can_fail(tmp_path):
    """A copy of the package with a forbidden import is caught by the same contracts."""
    exe = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which(
        "lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed")
    shutil.copytree(PKG, tmp_path / "tinygrad_attn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "models", tmp_path / "tinygrad_attn_models",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bad = tmp_path / "tinygrad_attn" / "data" / "vocab.py"
    bad.write_text(bad.read_text(encoding="utf-8") + "\nfrom ..training import Trainer  # noqa\n",
                   encoding="utf-8")
    r = _run([exe], cwd=tmp_path, env_extra={"PYTHONPATH": str(tmp_path)})
    assert r.returncode != 0 and "BROKEN" in r.stdout.upper(), r.stdout[-3000:]


def test_every_package_is_listed_for_installation():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(cfg["packages"])
    found = {".".join(p.relative_to(ROOT).parts[:-1]) for p in PKG.rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert cfg["package-dir"]["tinygrad_attn_models"] == "models"


def test_import_tinygrad_attn_does_not_import_models():
    r = _run([sys.executable, "-c", "import sys, tinygrad_attn as ta; "
              "from tinygrad_attn import functions as F, layers as L; "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in "
              "('models', 'tinygrad_attn_models')))"], cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory):
    """A project folder whose own ``models.py`` raises on import, with a tiny trained run."""
    d = tmp_path_factory.mktemp("userproject")
    (d / "models.py").write_text("raise RuntimeError('the user\\'s own models.py was imported')\n")
    r = _run([sys.executable, "-m", "tinygrad_attn", "train", "--model", "attention", "--samples",
              "200", "--epochs", "1", "--hidden", "8", "--wordvec", "4", "--batch-size", "50",
              "--no-progress", "--out", "run"], cwd=d)
    assert r.returncode == 0, r.stderr[-3000:]
    return d


def test_cli_works_beside_a_users_models_py(hostile_folder):
    ck = str(hostile_folder / "run" / "model.npz")
    r = _run([sys.executable, "-m", "tinygrad_attn", "translate", "--checkpoint", ck,
              "may 4, 2021"], cwd=hostile_folder)
    assert r.returncode == 0 and r.stdout.strip(), r.stderr[-3000:]
    exe = shutil.which("tinygrad-attn", path=os.path.dirname(sys.executable))
    if exe:
        r = _run([exe, "translate", "--checkpoint", ck, "10/31/90"], cwd=hostile_folder)
        assert r.returncode == 0, r.stderr[-3000:]
    code = ("from tinygrad_attn.training import Translator; "
            f"print(Translator.from_checkpoint({ck!r}).translate(['may 4, 2021']))")
    r = _run([sys.executable, "-c", code], cwd=hostile_folder)
    assert r.returncode == 0 and "[" in r.stdout, r.stderr[-3000:]


PLUGIN = '''
"""A model written outside the repository: one embedding, one LSTM, one output layer."""
import numpy as np
from tinygrad_attn import functions as F, layers as L
from tinygrad_attn.training.registry import ModelSpec, Option, register_model


class Parrot(L.Layer):
    def __init__(self, vocab_size, hidden_size=8, dtype=np.float32, rng=None):
        super().__init__()
        self.vocab_size, self.hidden_size = vocab_size, hidden_size
        self.embed = L.Embedding(vocab_size, hidden_size, dtype=dtype, rng=rng)
        self.lstm = L.LSTM(hidden_size, hidden_size, dtype=dtype, rng=rng)
        self.out = L.Linear(hidden_size, vocab_size, dtype=dtype, rng=rng)

    def example_batch(self, rng, batch, seq_len):
        return (rng.integers(0, self.vocab_size, size=(batch, seq_len)),
                rng.integers(0, self.vocab_size, size=(batch, 3)))

    def forward(self, xs, ts):
        h = self.lstm(self.embed(xs))[:, -1:, :]
        logits = F.broadcast_to(self.out(h), (ts.shape[0], ts.shape[1] - 1, self.vocab_size))
        return F.softmax_cross_entropy(logits, ts[:, 1:])

    def generate(self, xs, start_id, max_len):
        from tinygrad_attn.core import no_grad
        with no_grad():
            h = self.lstm(self.embed(xs))[:, -1, :]
            ids = self.out(h).data.argmax(axis=-1)
        return np.repeat(np.asarray(ids).reshape(-1, 1), max_len, axis=1).astype(np.int64)

    attention_weights = None
    all_attention_weights = None


SPEC = register_model(ModelSpec("parrot", Parrot, "text",
                                (Option("hidden", int, 8, "width", config="hidden_size", low=1),),
                                "a test plug-in", tiny={"hidden_size": 4}))
'''


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    """A folder with a plug-in module and a dist-info that declares its entry point."""
    d = tmp_path_factory.mktemp("plugin")
    (d / "parrot_model.py").write_text(textwrap.dedent(PLUGIN))
    info = d / "parrot_model-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: parrot-model\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[tinygrad_attn.models]\nparrot = parrot_model:SPEC\n")
    return d


def test_a_model_from_outside_trains_reloads_and_draws(plugin_path, tmp_path):
    env = {"PYTHONPATH": str(plugin_path)}
    r = _run([sys.executable, "-m", "tinygrad_attn", "train", "--help"], cwd=tmp_path, env_extra=env)
    assert "parrot" in r.stdout
    r = _run([sys.executable, "-m", "tinygrad_attn", "train", "--model", "parrot", "--hidden", "6",
              "--samples", "200", "--epochs", "1", "--batch-size", "50", "--no-progress",
              "--out", "run"], cwd=tmp_path, env_extra=env)
    assert r.returncode == 0, r.stderr[-3000:]
    ck = str(tmp_path / "run" / "model.npz")
    r = _run([sys.executable, "-m", "tinygrad_attn", "translate", "--checkpoint", ck,
              "may 4, 2021"], cwd=tmp_path, env_extra=env)
    assert r.returncode == 0 and r.stdout.strip(), r.stderr[-3000:]
    r = _run([sys.executable, "-m", "tinygrad_attn", "translate", "--checkpoint", ck, "--scores",
              "may 4, 2021"], cwd=tmp_path, env_extra=env)  # no logits(): answers, no scores
    assert r.returncode == 0 and "\tp=n/a (the model has no logits()" in r.stdout, r.stderr[-3000:]
    code = (f"from tinygrad_attn.training import load_checkpoint; m, info = load_checkpoint({ck!r}); "
            "print(type(m).__name__, m.config)")
    r = _run([sys.executable, "-c", code], cwd=tmp_path, env_extra=env)
    assert r.returncode == 0 and "Parrot" in r.stdout and "'hidden_size': 6" in r.stdout, r.stderr
    r = _run([sys.executable, "-m", "tinygrad_attn", "graph", "--model", "parrot", "--out",
              "g.dot"], cwd=tmp_path, env_extra=env)
    assert r.returncode == 0 and "SoftmaxCrossEntropy" in (tmp_path / "g.dot").read_text(), r.stderr
    # without the plug-in on the path the checkpoint names a model nobody registered
    r = _run([sys.executable, "-m", "tinygrad_attn", "translate", "--checkpoint", ck, "x"],
             cwd=tmp_path)
    assert r.returncode != 0 and "parrot" in r.stderr and "Traceback" not in r.stderr


def test_a_checkpoint_written_before_the_registry_still_loads():
    """tests/fixtures/attention_v0_1_0.npz was written by version 0.1.0 (``models`` at top level)."""
    from tinygrad_attn.training import Translator

    tr = Translator.from_checkpoint(ROOT / "tests" / "fixtures" / "attention_v0_1_0.npz")
    assert type(tr.model).__name__ == "AttentionSeq2seq"
    # that model was trained for one tiny epoch: it answered 'oddddodddo' to both, then and now
    assert tr.translate(["may 4, 2021", "10/31/90"]) == ["oddddodddo", "oddddodddo"]


SORT_TASK = '''
"""A third kind of task, written outside the framework: sort a string of digits."""
import numpy as np
from tinygrad_attn.data import DataSource, TaskData, TextTask, Vocabulary, register_data_source
from tinygrad_attn.data import greedy_decode, register_task_kind


@register_task_kind
class SortTask(TextTask):
    kind = "sort-digits"          # stored in checkpoints; feeds the "text" models

    @classmethod
    def from_description(cls, d, source="task"):
        t = TextTask.from_description(dict(d, kind="text"), source)
        return cls(t.vocab, t.in_width, t.out_width, t.reversed_input)

    def describe(self):
        return dict(super().describe(), kind=self.kind)

    def score(self, model, x, t, batch_size=512):     # exact match and per-digit accuracy
        pred = greedy_decode(model, x, int(t[0, 0]), t.shape[1] - 1, batch_size)
        return {"acc": float((pred == t[:, 1:]).all(axis=1).mean()),
                "digit_acc": float((pred == t[:, 1:]).mean())}

    def summary(self, label, figures, n):
        return f"{label}: sorted {figures['acc']:.1%} exactly, {figures['digit_acc']:.1%} of digits"


def pairs(name, samples, seed):
    rng = np.random.default_rng(seed)
    qs = ["".join(map(str, rng.integers(0, 10, size=6))) for _ in range(samples)]
    return [(q, "".join(sorted(q))) for q in qs]


def load(name, samples=1000, seed=0, reverse_input=False):
    vocab = Vocabulary.from_texts(["0123456789"])
    task = SortTask(vocab, 6, 6, bool(reverse_input))
    p = pairs("sort", samples, seed)
    x = task.encode([q for q, _ in p])
    t = vocab.encode_batch([vocab.start_char + a for _, a in p], width=7)
    n = max(1, samples // 10)
    return TaskData(task, x[n:], t[n:], x[:n], t[:n])


register_data_source(DataSource("sort", "text", load, ("reverse_input",), "sort six digits",
                                pairs=pairs))
'''


def test_a_third_task_trains_evaluates_and_reloads_through_the_cli(tmp_path):
    """A new kind of task from outside (entry point ``tinygrad_attn.tasks``), no framework change."""
    d = tmp_path / "plugin"
    d.mkdir()
    (d / "sort_task.py").write_text(textwrap.dedent(SORT_TASK))
    info = d / "sort_task-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sort-task\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[tinygrad_attn.tasks]\nsort = sort_task\n")
    env = {"PYTHONPATH": str(d)}
    r = _run([sys.executable, "-m", "tinygrad_attn", "train", "--model", "attention", "--data",
              "sort", "--samples", "400", "--epochs", "1", "--hidden", "16", "--wordvec", "8",
              "--batch-size", "50", "--no-progress", "--out", "run"], cwd=tmp_path, env_extra=env)
    assert r.returncode == 0, r.stderr[-3000:]
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["task"]["kind"] == "sort-digits"
    assert "val_digit_acc" in history["history"][0]
    ck = str(tmp_path / "run" / "model.npz")
    r = _run([sys.executable, "-m", "tinygrad_attn", "eval", "--checkpoint", ck, "--data", "sort",
              "--samples", "50"], cwd=tmp_path, env_extra=env)
    assert r.returncode == 0 and "of digits" in r.stdout, r.stderr[-3000:]
    r = _run([sys.executable, "-m", "tinygrad_attn", "translate", "--checkpoint", ck, "931752"],
             cwd=tmp_path, env_extra=env)
    assert r.returncode == 0 and r.stdout.count("\n") == 1, r.stderr[-3000:]   # one answer
    # without the plug-in the stored task kind is unknown: one clear line
    r = _run([sys.executable, "-m", "tinygrad_attn", "translate", "--checkpoint", ck, "1"],
             cwd=tmp_path)
    assert r.returncode == 2 and "sort-digits" in r.stderr and "Traceback" not in r.stderr


def test_checkpoint_and_history_hold_the_config_the_registry_recorded(tmp_path):
    from tinygrad_attn.training import read_checkpoint_info
    from tinygrad_attn.training.registry import get_spec

    r = _run([sys.executable, "-m", "tinygrad_attn", "train", "--model", "attention", "--samples",
              "200", "--epochs", "1", "--hidden", "8", "--wordvec", "4", "--no-progress",
              "--out", "run"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    info = read_checkpoint_info(tmp_path / "run" / "model.npz")
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["config"] == info.config
    factory = get_spec("attention").factory
    import inspect
    params = [p for p in inspect.signature(factory).parameters if p not in ("dtype", "rng")]
    assert sorted(info.config) == sorted(["model", *params])   # defaults included
    assert info.config["hidden_size"] == 8 and info.config["score"] == "dot"


def test_no_import_circles_in_the_framework():
    """Every import, at module level or inside a function, follows the floors: no cycles."""
    graph = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        mod = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        deps = set()
        for m in _imported_modules(path, "tinygrad_attn"):
            while m and m.startswith("tinygrad_attn"):
                p = ROOT / Path(*m.split("."))
                if p.with_suffix(".py").exists() or (p / "__init__.py").exists():
                    deps.add(m)
                    break
                m = m.rpartition(".")[0]
        graph[mod] = {d for d in deps if d != mod and not mod.startswith(d + ".")}
    # a package's __init__ re-exports its children: edges parent -> child are expected
    cycles, state = [], {}

    def visit(n, stack):
        state[n] = 1
        stack.append(n)
        for d in graph.get(n, ()):
            if d.startswith(n + "."):
                continue
            if state.get(d) == 1:
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                visit(d, stack)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [])
    assert not cycles, "\n".join(cycles)


def test_the_floors_picture_in_the_docs_is_the_contract():
    """docs/architecture.md draws the floors in the order pyproject.toml's contract states."""
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    layers = next(c["layers"] for c in contract["tool"]["importlinter"]["contracts"]
                  if c.get("containers") == ["tinygrad_attn"])
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = doc.split("## The floors", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    drawn = [ln.split("  ")[0].strip() for ln in block.splitlines()
             if ln and not ln.startswith((" ", "-", "floor"))]
    assert drawn == layers
