"""The one build step pyproject.toml cannot declare: the top-level seeds/ folder (where the user
wants it) is copied into the wheel as tracker/seeds, where tracker.package_data finds it through
importlib.resources. An editable install reads the checkout's seeds/ instead. Everything else about
the build is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SEEDS = Path(__file__).resolve().parent / "seeds"


class BuildWithSeeds(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "tracker" / "seeds"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(SEEDS, target, ignore=shutil.ignore_patterns(".*", "__pycache__"))


setup(cmdclass={"build_py": BuildWithSeeds})
