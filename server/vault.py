"""Encryption at rest: every session's files under their own data key, the data keys wrapped
by the deployment's key-encryption key (KEK).

- The KEK is 32 random bytes, base64, in `LGD_KEK_FILE` (a file readable only by the
  server) or `LGD_KEK`. `lgd keys new --out FILE` makes one. **Lose the KEK and the
  sessions are lost**: nothing else can unwrap their keys.
- Each session gets a random 256-bit data key (DEK) on first use, stored wrapped (AES-GCM
  under the KEK, the session id as associated data) in `<session>/key.json`.
- `session.json` and `report.json` are sealed whole; the event log seals each record's
  payload (see `server/store.py`). A sealed blob is `MAGIC | 12-byte nonce | AES-GCM
  ciphertext+tag`, with the file's role and session as associated data, so a blob cannot be
  swapped between files or sessions.
- Rotating the KEK re-wraps the data keys only; the data is not touched.

AES-GCM comes from `cryptography` (OpenSSL); nothing here is hand-rolled.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"LGDv1\x00"
NONCE = 12


class VaultError(RuntimeError):
    """A KEK that is missing, malformed or not the one the data was sealed with."""


def new_kek() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def parse_kek(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise VaultError("the KEK must be 32 bytes in base64 (lgd keys new)") from None
    if len(key) != 32:
        raise VaultError(f"the KEK must be 32 bytes, got {len(key)}")
    return key


def kek_id(kek: bytes) -> str:
    """A fingerprint that names the KEK without revealing it."""
    return hashlib.sha256(b"lgd-kek-id" + kek).hexdigest()[:16]


def is_sealed(blob: bytes) -> bool:
    return blob.startswith(MAGIC)


class Vault:
    def __init__(self, kek: bytes) -> None:
        self.kek = AESGCM(kek)
        self.kek_id = kek_id(kek)
        self._deks: dict[str, AESGCM] = {}

    # -- data keys -----------------------------------------------------------------------

    def _key_file(self, session_dir: Path) -> Path:
        return session_dir / "key.json"

    def data_key(self, session_dir: Path) -> AESGCM:
        sid = session_dir.name
        if sid in self._deks:
            return self._deks[sid]
        path = self._key_file(session_dir)
        if path.exists():
            entry = json.loads(path.read_text())
            if entry["kek_id"] != self.kek_id:
                raise VaultError(f"{path}: wrapped by KEK {entry['kek_id']}, not the configured "
                                 f"{self.kek_id}")
            try:
                dek = self.kek.decrypt(base64.b64decode(entry["nonce"]),
                                       base64.b64decode(entry["wrapped"]), sid.encode())
            except InvalidTag:
                raise VaultError(f"{path}: the KEK does not unwrap this key") from None
        else:
            dek = AESGCM.generate_key(bit_length=256)
            self._write_key(session_dir, dek)
        self._deks[sid] = AESGCM(dek)
        return self._deks[sid]

    def _write_key(self, session_dir: Path, dek: bytes) -> None:
        nonce = secrets.token_bytes(NONCE)
        wrapped = self.kek.encrypt(nonce, dek, session_dir.name.encode())
        entry = {"kek_id": self.kek_id, "nonce": base64.b64encode(nonce).decode(),
                 "wrapped": base64.b64encode(wrapped).decode()}
        session_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self._key_file(session_dir).with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(entry, f)
        os.replace(tmp, self._key_file(session_dir))

    def rewrap(self, session_dir: Path, new: Vault) -> None:
        """Key rotation: this session's data key, wrapped by `new`'s KEK instead; the data
        sealed under it is not touched."""
        path = self._key_file(session_dir)
        if not path.exists():
            return
        entry = json.loads(path.read_text())
        try:
            raw = self.kek.decrypt(base64.b64decode(entry["nonce"]),
                                   base64.b64decode(entry["wrapped"]), session_dir.name.encode())
        except InvalidTag:
            raise VaultError(f"{path}: the current KEK does not unwrap this key") from None
        new._write_key(session_dir, raw)
        self._deks.pop(session_dir.name, None)

    # -- sealing -------------------------------------------------------------------------

    def seal(self, session_dir: Path, role: str, data: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        aad = f"{session_dir.name}/{role}".encode()
        return MAGIC + nonce + self.data_key(session_dir).encrypt(nonce, data, aad)

    def open(self, session_dir: Path, role: str, blob: bytes) -> bytes:
        if not is_sealed(blob):
            raise VaultError(f"{session_dir.name}/{role}: not sealed")
        nonce, body = blob[len(MAGIC):len(MAGIC) + NONCE], blob[len(MAGIC) + NONCE:]
        aad = f"{session_dir.name}/{role}".encode()
        try:
            return self.data_key(session_dir).decrypt(nonce, body, aad)
        except InvalidTag:
            raise VaultError(f"{session_dir.name}/{role}: damaged or not this session's") from None


def load_vault(kek_file: Path | None, kek: str | None) -> Vault | None:
    """The deployment's vault, or None when no KEK is configured (files stay plain)."""
    if kek_file is not None:
        try:
            return Vault(parse_kek(Path(kek_file).read_text()))
        except OSError as exc:
            raise VaultError(f"cannot read the KEK file {kek_file}: {exc.strerror}") from None
    if kek:
        return Vault(parse_kek(kek))
    return None
