"""Signed checkpoints: an Ed25519 signature over the chain head (seq, hash, time).

The signing key lives outside the database, so whoever can rewrite every row and the head
still cannot sign a checkpoint of the rewritten history; a checkpoint kept where the database
admin cannot reach it exposes the rewrite.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.engine import Engine

from ..clock import iso_utc, now
from ..tables import audit_chain, audit_checkpoints


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    time: str
    key_id: str
    signature: str

    def message(self) -> bytes:
        """The bytes signed: canonical JSON of seq, hash and time."""
        return _canonical({"seq": self.seq, "hash": self.hash, "time": self.time})

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class CheckpointError(Exception):
    """A key or checkpoint file that cannot be used, said in one line."""


def keygen(signing_file: Path, verify_file: Path) -> str:
    """Write a new key pair (the private key readable by its owner only); returns its key id."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for path, data, mode in ((signing_file, pem, 0o600), (verify_file, public, 0o644)):
        try:
            with path.open("xb") as out:  # never overwrite a key
                path.chmod(mode)
                out.write(data)
        except FileExistsError:
            raise CheckpointError(f"{path} exists; keys are never overwritten") from None
    return key_id(private.public_key())


def key_id(public: Ed25519PublicKey) -> str:
    """A short fingerprint of the public key, stored with each checkpoint."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_signing_key(path: str) -> Ed25519PrivateKey:
    key = _load(path, lambda data: serialization.load_pem_private_key(data, password=None))
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path} is not an Ed25519 private key")
    return key


def load_verify_key(path: str) -> Ed25519PublicKey:
    key = _load(path, serialization.load_pem_public_key)
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{path} is not an Ed25519 public key")
    return key


def sign_head(engine: Engine, private: Ed25519PrivateKey) -> Checkpoint:
    """Sign the current chain head and store the checkpoint."""
    with engine.begin() as conn:
        head = conn.execute(
            sa.select(audit_chain.c.head_seq, audit_chain.c.head_hash).where(audit_chain.c.id == 1)
        ).one()
        unsigned = {"seq": head.head_seq, "hash": head.head_hash, "time": iso_utc(now())}
        signature = base64.b64encode(private.sign(_canonical(unsigned))).decode()
        checkpoint = Checkpoint(
            **unsigned, key_id=key_id(private.public_key()), signature=signature
        )
        conn.execute(audit_checkpoints.insert().values(checkpoint.as_json()))
    return checkpoint


def stored(conn: sa.Connection) -> list[Checkpoint]:
    """Every stored checkpoint, oldest first."""
    query = sa.select(
        *(audit_checkpoints.c[name] for name in ("seq", "hash", "time", "key_id", "signature"))
    ).order_by(audit_checkpoints.c.id)
    return [Checkpoint(**row) for row in conn.execute(query).mappings()]


def signature_problem(checkpoint: Checkpoint, public: Ed25519PublicKey) -> str | None:
    """Why the checkpoint's signature does not hold under `public`, or None."""
    where = f"checkpoint of #{checkpoint.seq} at {checkpoint.time}"
    if checkpoint.key_id != key_id(public):
        return f"{where} was signed by another key (key id {checkpoint.key_id})"
    try:
        public.verify(base64.b64decode(checkpoint.signature), checkpoint.message())
    except (InvalidSignature, ValueError):
        return f"{where}: the signature does not match its seq, hash and time"
    return None


def parse(text: str) -> Checkpoint:
    """A checkpoint as `audit checkpoint` printed it."""
    try:
        fields = json.loads(text)
        checkpoint = Checkpoint(**fields)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"not a checkpoint printed by `audit checkpoint`: {exc}") from None
    if not isinstance(checkpoint.seq, int) or not isinstance(checkpoint.hash, str):
        raise CheckpointError("not a checkpoint printed by `audit checkpoint`: bad seq or hash")
    return checkpoint


def _canonical(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _load(path: str, reader: Any) -> Any:
    try:
        return reader(Path(path).read_bytes())
    except OSError as exc:
        raise CheckpointError(f"cannot read key file {path}: {exc.strerror}") from None
    except ValueError:
        raise CheckpointError(f"{path} is not a PEM key") from None
