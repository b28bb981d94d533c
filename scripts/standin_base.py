"""Build a local stand-in for the Dockerfile's base image, where no registry can be reached.

    python -m scripts.standin_base          # prints the tag; builds only when missing or stale

Debian bookworm (debootstrap minbase) with Debian's Python 3.11, venv and `python` on PATH,
tagged with the name in deploy/Dockerfile's `ARG PYTHON_IMAGE`, so the Dockerfile builds
unchanged. It also carries this machine's CA bundle as PIP_CERT, for a network that
intercepts TLS. A label records the recipe: a changed recipe rebuilds, an unchanged one is
reused (debootstrap takes one to a few minutes).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
SUITE = "bookworm"
PACKAGES = "python3,python3-venv,python-is-python3,ca-certificates,netbase,tzdata"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
TRIM = ["var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"]
LABEL = "org.ielts-question-service.standin-recipe"
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def base_image_name() -> str:
    """The base image deploy/Dockerfile builds FROM (its ARG PYTHON_IMAGE default)."""
    match = re.search(r"(?m)^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text())
    if match is None:
        raise SystemExit(f"{DOCKERFILE}: no `ARG PYTHON_IMAGE=...` line")
    return f"docker.io/library/{match.group(1)}"


def debian_mirror() -> str:
    """The Debian mirror apt uses on this machine (deb822 or one-line sources)."""
    sources = [*sorted(Path("/etc/apt/sources.list.d").glob("*")), Path("/etc/apt/sources.list")]
    for source in sources:
        if source.is_file():
            text = source.read_text()
            match = re.search(r"(?m)^URIs:\s*(\S+/debian)\s*$", text) or re.search(
                r"(?m)^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)\s+bookworm\b", text
            )
            if match:
                return match.group(1)
    return DEFAULT_MIRROR


def recipe() -> str:
    ca = hashlib.sha256(CA_BUNDLE.read_bytes()).hexdigest() if CA_BUNDLE.exists() else ""
    spec = "|".join([SUITE, PACKAGES, ",".join(TRIM), ca, Path(__file__).read_text()])
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def cached(name: str, want: str) -> bool:
    found = subprocess.run(
        [
            "buildah",
            "inspect",
            "--type",
            "image",
            "--format",
            f'{{{{index .OCIv1.Config.Labels "{LABEL}"}}}}',
            name,
        ],
        capture_output=True,
        text=True,
    )
    return found.returncode == 0 and found.stdout.strip() == want


def build(name: str, want: str) -> None:
    with tempfile.TemporaryDirectory(prefix="standin-") as tmp:
        rootfs = Path(tmp) / "root"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={PACKAGES}",
                SUITE,
                str(rootfs),
                debian_mirror(),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for path in TRIM:
            subprocess.run(["find", str(rootfs / path), "-mindepth", "1", "-delete"], check=True)
        env = ["--env", "LANG=C.UTF-8"]
        if CA_BUNDLE.exists():
            (rootfs / CA_BUNDLE.relative_to("/")).write_bytes(CA_BUNDLE.read_bytes())
            env += ["--env", f"PIP_CERT={CA_BUNDLE}", "--env", f"SSL_CERT_FILE={CA_BUNDLE}"]
        ctr = subprocess.run(
            ["buildah", "from", "scratch"], capture_output=True, text=True, check=True
        ).stdout.strip()
        try:
            mnt = subprocess.run(
                ["buildah", "mount", ctr], capture_output=True, text=True, check=True
            ).stdout.strip()
            subprocess.run(["cp", "-a", f"{rootfs}/.", mnt], check=True)
            subprocess.run(["buildah", "umount", ctr], check=True, stdout=subprocess.DEVNULL)
            subprocess.run(
                ["buildah", "config", *env, "--cmd", "python3", "--label", f"{LABEL}={want}", ctr],
                check=True,
            )
            subprocess.run(
                ["buildah", "commit", "-q", ctr, name], check=True, stdout=subprocess.DEVNULL
            )
        finally:
            subprocess.run(["buildah", "rm", ctr], check=False, stdout=subprocess.DEVNULL)


def main() -> int:
    name, want = base_image_name(), recipe()
    if not cached(name, want):
        print(f"building the stand-in base {name} (debootstrap {SUITE})", file=sys.stderr)
        build(name, want)
    print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
