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
    bad.write_text(bad.read_text(encoding="utf-8") + "\nfrom ..train import Trainer  # noqa\n",
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
    code = ("from tinygrad_attn.train import Translator; "
            f"print(Translator.from_checkpoint({ck!r}).translate(['may 4, 2021']))")
    r = _run([sys.executable, "-c", code], cwd=hostile_folder)
    assert r.returncode == 0 and "[" in r.stdout, r.stderr[-3000:]


PLUGIN = '''
"""A model written outside the repository: one embedding, one LSTM, one output layer."""
import numpy as np
from tinygrad_attn import functions as F, layers as L
from tinygrad_attn.registry import ModelSpec, Option, register_model


class Parrot(L.Layer):
    def __init__(self, vocab_size, hidden_size=8, dtype=np.float32, rng=None):
        super().__init__()
        self.vocab_size, self.hidden_size = vocab_size, hidden_size
        self.embed = L.Embedding(vocab_size, hidden_size, dtype=dtype, rng=rng)
        self.lstm = L.LSTM(hidden_size, hidden_size, dtype=dtype, rng=rng)
        self.out = L.Linear(hidden_size, vocab_size, dtype=dtype, rng=rng)

    @property
    def config(self):
        return {"model": "parrot", "vocab_size": self.vocab_size, "hidden_size": self.hidden_size}

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
    code = (f"from tinygrad_attn.train import load_checkpoint; m, meta = load_checkpoint({ck!r}); "
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
    from tinygrad_attn.train import Translator

    tr = Translator.from_checkpoint(ROOT / "tests" / "fixtures" / "attention_v0_1_0.npz")
    assert type(tr.model).__name__ == "AttentionSeq2seq"
    # that model was trained for one tiny epoch: it answered 'oddddodddo' to both, then and now
    assert tr.translate(["may 4, 2021", "10/31/90"]) == ["oddddodddo", "oddddodddo"]
