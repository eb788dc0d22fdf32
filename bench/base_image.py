"""Cold builds vs cached reuse of each image layer, and what a layer adds on disk.

The base image is built under a throwaway tag (the real one stays for everyone else), so this
measures a true cold mmdebstrap + `docker import`; the environment and instance layers get fresh
specs (a unique setup comment, a unique repo), then everything built here is removed again.

    python bench/base_image.py [--skip-base]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import docker

from swesrl.sandbox import base_images, images
from swesrl.sandbox.docker_sandbox import DockerSandbox


def timed(f, *a, **kw) -> tuple[float, object]:
    t = time.perf_counter()
    r = f(*a, **kw)
    return time.perf_counter() - t, r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-base", action="store_true", help="skip the cold base build (~30-90 s)")
    args = ap.parse_args()
    client = docker.from_env()
    salt = uuid.uuid4().hex[:8]
    rows: list[tuple[str, float, str]] = []
    base = images.ensure_base_image()
    if not args.skip_base:
        cold_tag = f"swesrl/base-bench:{salt}"
        t, _ = timed(base_images.build_base, cold_tag, None)  # same recipe, throwaway tag
        rows.append(("base: cold (mmdebstrap + import)", t, f"{client.images.get(cold_tag).attrs['Size'] / 1e6:.0f} MB"))
        client.images.remove(cold_tag)
    t, _ = timed(images.ensure_base_image)
    rows.append(("base: cached", t, ""))

    env = images.EnvironmentSpec(python_packages=("pytest",), setup_commands=(f"true bench-{salt}",))
    t, env_tag = timed(images.ensure_environment_image, env)
    env_size = client.images.get(env_tag).attrs["Size"]
    base_size = client.images.get(base).attrs["Size"]
    rows.append(("env (pytest): cold (resolve + download + offline build)", t, f"+{(env_size - base_size) / 1e6:.1f} MB"))
    t, _ = timed(images.ensure_environment_image, env)
    rows.append(("env: cached", t, ""))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "proj"
        (root / "proj").mkdir(parents=True)
        (root / "pyproject.toml").write_text(
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
            f'[project]\nname = "proj"\nversion = "0.1"\ndescription = "{salt}"\n'
        )
        (root / "proj" / "__init__.py").write_text("X = 1\n")
        spec = images.InstanceSpec(environment=env, repo=images.RepoSource(kind="dir", location=str(root)))
        t, inst_tag = timed(images.ensure_instance_image, spec)
        inst_size = client.images.get(inst_tag).attrs["Size"]
        rows.append(("instance (dir repo, pip -e): cold", t, f"+{(inst_size - env_size) / 1e6:.2f} MB"))
        t, _ = timed(images.ensure_instance_image, spec)
        rows.append(("instance: cached (hashes the dir)", t, ""))
    t0 = time.perf_counter()
    sb = DockerSandbox(inst_tag, run_id="bench-images")
    t1 = time.perf_counter()
    sb.close()
    rows.append(("container start (create + start)", t1 - t0, ""))
    rows.append(("container removal", time.perf_counter() - t1, ""))
    client.images.remove(inst_tag)
    client.images.remove(env_tag)

    width = max(len(r[0]) for r in rows)
    for name, secs, note in rows:
        print(f"{name:<{width}}  {secs:8.3f} s  {note}")
    cold = [s for n, s, _ in rows if n.startswith("base: cold")]
    if cold:
        print(f"ratio base cold/cached: {cold[0] / rows[1][1]:.0f}x")


if __name__ == "__main__":
    main()
