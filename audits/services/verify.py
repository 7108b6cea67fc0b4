"""Verifying an evidence bundle: each altered, missing or extra file, the signature, the audit-log chain.

The ZIP is read in place and never extracted: each member is hashed as it is decompressed. Hostile
uploads are refused before any member is read: not a ZIP, paths that climb out (``..``, absolute, drive
letters), too many members, or members that decompress to far more than they take (a ZIP bomb).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import SimpleNamespace
from typing import IO, Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings

from audits.services import signing
from audits.services.bundles import AUDIT_EXTRACT, FORMAT, MANIFEST, META_FILES, PUBLIC_KEY, SIGNATURE
from hygiene.models import AuditEntry
from hygiene.services.audit import entry_digest

READ_CHUNK = 1 << 20
MANIFEST_MAX = 256 * 1024 * 1024
BOMB_MIN_BYTES = 1 << 20


class BundleRefused(Exception):
    """The upload is not something we read at all (not a ZIP, a ZIP bomb, climbing paths)."""


@dataclass
class BundleReport:
    refused: str = ""
    manifest_error: str = ""
    signature: str = ""  # valid, invalid, other-key, missing
    signature_detail: str = ""
    altered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    chain_problem: str = ""
    chain_entries: int = 0
    chain_redacted: int = 0
    live_problem: str = ""
    live_checked: bool = False
    file_count: int = 0
    engagement: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (
            self.refused
            or self.manifest_error
            or self.signature != "valid"
            or self.altered
            or self.missing
            or self.extra
            or self.chain_problem
            or self.live_problem
        )

    def problems(self) -> list[str]:
        """Each problem as a sentence naming what is wrong."""
        if self.refused:
            return [f"Refused: {self.refused}"]
        lines = []
        if self.manifest_error:
            lines.append(self.manifest_error)
        if self.signature != "valid":
            lines.append(f"Bad signature: {self.signature_detail}")
        lines += [f"Altered: {path} (its SHA-256 differs from the manifest's)" for path in self.altered]
        lines += [f"Missing: {path} (listed in the manifest, absent from the ZIP)" for path in self.missing]
        lines += [f"Extra: {path} (in the ZIP, not in the manifest)" for path in self.extra]
        if self.chain_problem:
            lines.append(f"Audit-log extract: {self.chain_problem}")
        if self.live_problem:
            lines.append(f"Audit log of this site: {self.live_problem}")
        return lines

    def summary(self) -> str:
        if self.ok:
            live = " and matches this site's audit log" if self.live_checked else ""
            return (
                f"OK: {self.file_count} files match the signed manifest; the audit-log extract's chain of "
                f"{self.chain_entries} entries ({self.chain_redacted} redacted) holds{live}."
            )
        return f"NOT OK: {len(self.problems())} problem(s) found."


def bundle_verify(
    *, source: str | IO[bytes], public_key: Ed25519PublicKey | None = None, check_live_log: bool = False
) -> BundleReport:
    """Verify the bundle at ``source`` against ``public_key`` (the site's own by default)."""
    report = BundleReport()
    try:
        with _open_zip(source) as archive:
            _check_members(archive)
            _verify_open(archive, report, public_key or signing.public_key(), check_live_log)
    except BundleRefused as exc:
        report.refused = str(exc)
    return report


def _size(source: str | IO[bytes]) -> int:
    if isinstance(source, str):
        return os.path.getsize(source)
    position = source.seek(0, os.SEEK_END)
    source.seek(0)
    return position


def _open_zip(source: str | IO[bytes]) -> zipfile.ZipFile:
    if _size(source) > settings.HYGIENE_BUNDLE_VERIFY_MAX_BYTES:
        raise BundleRefused(
            f"the file is larger than {settings.HYGIENE_BUNDLE_VERIFY_MAX_BYTES} bytes "
            "(HYGIENE_BUNDLE_VERIFY_MAX_BYTES)."
        )
    if not zipfile.is_zipfile(source):
        raise BundleRefused("this is not a ZIP file.")
    if not isinstance(source, str):
        source.seek(0)
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BundleRefused(f"the ZIP cannot be read ({exc}).") from exc


def unsafe_member_name(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return (
        not name
        or "\x00" in name
        or name.startswith(("/", "\\"))
        or (len(name) > 1 and name[1] == ":")
        or any(part == ".." for part in path.parts)
    )


def _check_members(archive: zipfile.ZipFile) -> None:
    infos = archive.infolist()
    if len(infos) > settings.HYGIENE_BUNDLE_VERIFY_MAX_FILES:
        raise BundleRefused(f"the ZIP holds {len(infos)} files, more than a bundle may.")
    seen: set[str] = set()
    total = 0
    for info in infos:
        if unsafe_member_name(info.filename):
            raise BundleRefused(f"the path “{info.filename[:200]}” would leave the bundle's folder.")
        if info.filename in seen:
            raise BundleRefused(f"the path “{info.filename[:200]}” appears twice.")
        seen.add(info.filename)
        if info.flag_bits & 0x1:
            raise BundleRefused(f"“{info.filename[:200]}” is encrypted.")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > BOMB_MIN_BYTES and ratio > settings.HYGIENE_BUNDLE_VERIFY_MAX_RATIO:
            raise BundleRefused(
                f"“{info.filename[:200]}” would expand {ratio:.0f} times (a ZIP bomb); nothing was extracted."
            )
    if total > settings.HYGIENE_BUNDLE_VERIFY_MAX_UNCOMPRESSED:
        raise BundleRefused(f"the ZIP would expand to {total} bytes (a ZIP bomb); nothing was extracted.")


def _read_small(archive: zipfile.ZipFile, name: str, limit: int) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > limit:
        raise BundleRefused(f"{name} is larger than a bundle's {name} can be.")
    with archive.open(info) as handle:
        return handle.read(limit + 1)


def _verify_open(
    archive: zipfile.ZipFile, report: BundleReport, key: Ed25519PublicKey, check_live_log: bool
) -> None:
    manifest_bytes = _read_small(archive, MANIFEST, MANIFEST_MAX)
    if manifest_bytes is None:
        report.manifest_error = (
            "Missing: manifest.json (not an evidence bundle, or its manifest was removed)."
        )
        report.signature, report.signature_detail = "missing", "there is no manifest to check it against."
        return
    _check_signature(archive, report, key, manifest_bytes)
    try:
        manifest = json.loads(manifest_bytes)
        listed = {str(item["path"]): item for item in manifest["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        report.manifest_error = f"manifest.json cannot be read ({exc})."
        return
    if manifest.get("format") != FORMAT:
        report.manifest_error = f"manifest.json is not of the format {FORMAT}."
    report.engagement = manifest.get("engagement") or {}
    present = {info.filename for info in archive.infolist() if not info.is_dir()}
    report.file_count = len(present)
    report.extra = sorted(present - set(listed) - META_FILES)
    for path, item in listed.items():
        if "missing_at_export" in item:
            continue  # recorded as missing when the bundle was made; nothing to hash
        if path not in present:
            report.missing.append(path)
        elif _sha256(archive, path) != item.get("sha256"):
            report.altered.append(path)
    anchors = manifest.get("audit_log") or {}
    if AUDIT_EXTRACT in present and AUDIT_EXTRACT not in report.altered:
        _check_chain(archive, report, anchors)
    elif AUDIT_EXTRACT in present:
        report.chain_problem = "the extract was altered, so its chain was not checked."
    if check_live_log:
        _check_live(report, anchors)


def _check_signature(
    archive: zipfile.ZipFile, report: BundleReport, key: Ed25519PublicKey, manifest_bytes: bytes
) -> None:
    raw = _read_small(archive, SIGNATURE, 4096)
    if raw is None:
        report.signature, report.signature_detail = "missing", "manifest.sig is missing."
        return
    try:
        signature = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        report.signature, report.signature_detail = "invalid", "manifest.sig is not a base64 signature."
        return
    if signing.signature_valid(key, signature, manifest_bytes):
        report.signature = "valid"
        return
    bundled_pem = _read_small(archive, PUBLIC_KEY, 4096)
    bundled = signing.load_public_key(bundled_pem) if bundled_pem else None
    if bundled is not None and signing.signature_valid(bundled, signature, manifest_bytes):
        report.signature = "other-key"
        report.signature_detail = (
            f"the manifest was signed by another key (fingerprint {signing.key_fingerprint(bundled)[:16]}…), "
            f"not the expected one ({signing.key_fingerprint(key)[:16]}…)."
        )
        return
    report.signature = "invalid"
    report.signature_detail = (
        "the signature does not match manifest.json (the manifest or manifest.sig was edited)."
    )


def _sha256(archive: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    try:
        with archive.open(name) as handle:
            while chunk := handle.read(READ_CHUNK):
                digest.update(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return "unreadable"
    return digest.hexdigest()


def _check_chain(archive: zipfile.ZipFile, report: BundleReport, anchors: dict[str, Any]) -> None:
    prev = anchors.get("first_prev_hash", "")
    expected_seq = anchors.get("first_seq")
    last = ""
    with archive.open(AUDIT_EXTRACT) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                report.chain_problem = f"line {number} is not JSON."
                return
            try:
                problem = _link_problem(record, prev, expected_seq)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                problem = f"malformed ({type(exc).__name__}: {exc})"
            if problem:
                report.chain_problem = f"entry with sequence {record.get('seq')}: {problem}."
                return
            report.chain_entries += 1
            report.chain_redacted += 1 if record.get("redacted") else 0
            prev = last = record["hash"]
            expected_seq = record["seq"] + 1
    if report.chain_entries != anchors.get("entries", 0):
        report.chain_problem = f"{report.chain_entries} entries, the manifest says {anchors.get('entries')}."
    elif last != anchors.get("last_hash", ""):
        report.chain_problem = "the last entry's hash is not the manifest's anchor."


class _Stamp(str):
    """An ISO 8601 time as the bundle wrote it, answering ``isoformat()`` as the datetime did."""

    def isoformat(self) -> str:
        return str(self)


def _link_problem(record: dict[str, Any], prev: str, expected_seq: int | None) -> str:
    if record.get("seq") != expected_seq:
        return f"expected sequence {expected_seq} (an entry was removed or reordered)"
    if record.get("prev_hash") != prev:
        return "does not follow the entry before it"
    if record.get("redacted"):
        return ""
    # The fields entry_digest reads, without building a model instance (100,000 of them take seconds);
    # the time stays the text the bundle wrote (its own isoformat), checked to be one.
    dt.datetime.fromisoformat(record["occurred_at"])
    entry = SimpleNamespace(
        seq=record["seq"],
        pk=record["id"],
        occurred_at=_Stamp(record["occurred_at"]),
        actor_id=record["actor_id"],
        actor_label=record["actor_label"],
        action=record["action"],
        object_type=record["object_type"],
        object_id=record["object_id"],
        before=record["before"],
        after=record["after"],
        changes=record["changes"],
        context=record["context"],
    )
    if entry_digest(cast(AuditEntry, entry), prev) != record.get("hash"):
        return "its content no longer matches its hash (altered)"
    return ""


def _check_live(report: BundleReport, anchors: dict[str, Any]) -> None:
    report.live_checked = True
    head_seq = anchors.get("head_seq")
    if head_seq is None:
        return
    live = AuditEntry.objects.filter(seq=head_seq).values_list("hash", flat=True).first()
    if live is None:
        report.live_problem = f"entry {head_seq}, the head when the bundle was made, is gone (log cut off)."
    elif live != anchors.get("head_hash"):
        report.live_problem = f"entry {head_seq} no longer has the hash it had when the bundle was made."
