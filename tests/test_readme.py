"""README's quickstart: exactly two commands, and .ci/run runs the test command verbatim."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quickstart_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    return [b.strip() for b in blocks]


def test_two_commands_main_job_then_tests():
    cmds = quickstart_commands()[:2]
    assert len(cmds) == 2 and all("\n" not in c for c in cmds)
    main_job, tests = cmds
    assert "pip install" in main_job and "examples/quickstart.py" in main_job
    assert "pip install" in tests and "pytest" in tests
    assert (ROOT / "examples" / "quickstart.py").exists()


def test_ci_runs_the_readme_test_command_verbatim():
    test_cmd = quickstart_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert any(line.strip() == test_cmd for line in ci.splitlines())
    assert "set -euo pipefail" in ci  # a failing test fails CI
