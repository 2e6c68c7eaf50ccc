"""The package installs offline, in a venv, with the system's setuptools (a few seconds).

Set SUNDIAL_SKIP_PACKAGING=1 to skip building it.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import sundial  # noqa: E402


class PackagingTest(unittest.TestCase):
    def test_version_matches(self):
        with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
            project = tomllib.load(f)["project"]
        self.assertEqual(project["version"], sundial.__version__)
        self.assertEqual(project["scripts"]["sundial-worker"], "sundial.cli:main")
        self.assertEqual(project["dependencies"], [])

    @unittest.skipIf(os.environ.get("SUNDIAL_SKIP_PACKAGING"), "SUNDIAL_SKIP_PACKAGING is set")
    @unittest.skipUnless(importlib.util.find_spec("setuptools") and importlib.util.find_spec("wheel"),
                         "needs setuptools and wheel (apt install python3-setuptools python3-wheel)")
    def test_installs_offline_in_a_venv(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        src = os.path.join(tmp, "src")
        shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        venv = os.path.join(tmp, "venv")
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True)
        pip = [os.path.join(venv, "bin", "pip"), "install", "--no-index", "--no-build-isolation", src]
        subprocess.run(pip, check=True, capture_output=True)
        out = subprocess.run([os.path.join(venv, "bin", "sundial-worker"), "--help"], check=True,
                             capture_output=True, text=True, cwd=tmp)
        self.assertIn("--tasks", out.stdout)
        out = subprocess.run([os.path.join(venv, "bin", "python"), "-c", "import sundial; print(sundial.__file__)"],
                             check=True, capture_output=True, text=True, cwd=tmp)
        self.assertTrue(out.stdout.startswith(venv), out.stdout)


if __name__ == "__main__":
    unittest.main()
