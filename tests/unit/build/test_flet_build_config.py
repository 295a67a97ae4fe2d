"""What can be tested of `flet build` without Flutter: the pyproject settings it reads."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_flet_build_settings_are_consistent():
    out = subprocess.run([sys.executable, str(ROOT / "build" / "check_flet_config.py")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_android_gets_no_desktop_only_packages():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    android = data["project"]["dependencies"] + data["tool"]["flet"]["android"]["dependencies"]
    names = " ".join(android)
    assert "zxing-cpp" not in names and "fastapi" not in names and "flet-web" not in names
    assert "pyzbar" in names and "flet-camera" in names


def test_device_code_imports_without_server_extra_and_zxing():
    # As on Android: nothing of the server extra (fastapi, uvicorn, alembic, psycopg, SQLModel/SQLAlchemy) and no
    # zxing-cpp importable.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {\n"
        "            'fastapi', 'uvicorn', 'alembic', 'psycopg', 'sqlmodel', 'sqlalchemy', 'zxingcpp'\n"
        "        }:\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import store_associate.ui.app, store_associate.device.runtime, store_associate.device.lookup\n"
        "import store_associate.scan\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
