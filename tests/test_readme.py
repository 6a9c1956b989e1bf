"""The README's Python API snippets, saved as scripts and run as users run them (no main guard)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def api_snippets() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Python API"): text.index("\n## ", text.index("## Python API") + 5)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_api_section_has_runnable_snippets():
    snippets = api_snippets()
    assert len(snippets) == 2 and all("import" in s for s in snippets)
    assert "if __name__" not in "".join(snippets)


@pytest.mark.slow
def test_readme_api_snippets_run_as_scripts(tmp_path):
    import shutil

    shutil.rmtree(REPO / "out" / "api", ignore_errors=True)
    for k, code in enumerate(api_snippets()):
        script = tmp_path / f"try_api_{k}.py"
        script.write_text(code)
        proc = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=900)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-3000:]
        assert "Traceback" not in out and "bootstrapping phase" not in out
        assert "export starting" not in out.lower() and "XNNPACK" not in out  # library chatter stays off
    assert (REPO / "out" / "api" / "demo_mixamo.bvh").is_file()
