"""Offline sanity check of the `flet build` settings in pyproject.toml (no Flutter needed).

    python build/check_flet_config.py [path/to/pyproject.toml]

Mirrors how flet-cli 1.0.5 resolves settings (flet_cli/commands/build_base.py):
dependencies = [project].dependencies + [tool.flet.<platform>].dependencies (appended, not replaced);
app path / module from [tool.flet.app]; per-platform keys win over [tool.flet] keys.
Exit status 1 when an error is found, 0 otherwise (warnings do not fail).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PLATFORMS = {"apk": "android", "aab": "android", "web": "web", "linux": "linux", "windows": "windows",
             "macos": "macos"}
OPENCV = {"opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"}
NO_MOBILE_WHEEL = {"zxing-cpp", "flet-web", "flet-desktop", "psycopg", "uvicorn"}  # not on pypi.flet.dev (see README)


def name(req: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "pyproject.toml")
    data = tomllib.loads(path.read_text(encoding="utf-8"))  # raises on invalid TOML
    root, flet = path.parent, data.get("tool", {}).get("flet", {})
    errors: list[str] = []
    warnings: list[str] = []

    app = flet.get("app", {})
    app_dir = root / app.get("path", ".")
    module = str(app.get("module", "main")).removesuffix(".py")
    if not (app_dir / f"{module}.py").is_file():
        errors.append(f"entry point {app_dir / (module + '.py')} not found ([tool.flet.app] path/module)")
    if not (app_dir / "assets").is_dir():
        warnings.append(f"no assets dir at {app_dir / 'assets'} (icons, splash, fonts are looked up there)")
    elif not any((app_dir / "assets").glob("icon.*")):
        warnings.append("no assets/icon.png: builds get the default Flet icon and splash")
    if (app_dir / ".env").exists() and ".env" not in app.get("include", []):
        warnings.append("app/.env exists but is not packaged (hidden files are excluded): add include = [\".env\"]")
    if str(flet.get("org", "")).startswith("com.example") or str(flet.get("bundle_id", "")).startswith("com.example"):
        warnings.append("org/bundle_id starts with com.example: Google Play rejects it; fine for side-loading")

    base = list(data.get("project", {}).get("dependencies", []))
    for target, platform in PLATFORMS.items():
        if target == "aab":
            continue
        deps = base + list(flet.get(platform, {}).get("dependencies", []))
        names = [name(d) for d in deps]
        label = "apk/aab" if platform == "android" else target
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            warnings.append(f"{label}: listed twice: {', '.join(dup)}")
        cv = sorted(set(names) & OPENCV)
        if len(cv) > 1:
            errors.append(f"{label}: several OpenCV distributions ({', '.join(cv)}) all install `cv2` and overwrite "
                          "each other: keep exactly one")
        if platform == "android":
            bad = sorted(set(names) & NO_MOBILE_WHEEL)
            if bad:
                errors.append(f"apk/aab: no Android wheel for {', '.join(bad)}")
            if "flet-camera" not in names:
                warnings.append("apk/aab: flet-camera not in the build's dependencies: no camera control on Android")
        print(f"{label:8} {', '.join(deps)}")

    for w in warnings:
        print(f"WARNING: {w}")
    for e in errors:
        print(f"ERROR:   {e}")
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
