"""The text of an attachment, for the review checks: PDF through pypdf, and the zip-based office
formats (DOCX, XLSX, PPTX, ODF, OFD) by reading their XML parts with the standard library.

Attachments are untrusted input, so everything is bounded (pages, member sizes, total text)
and a file that cannot be read gives an outcome the checks report, never an exception."""
from __future__ import annotations

import html
import logging
import re
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

MAX_PAGES = 2000
MAX_CHARS = 2_000_000
MAX_MEMBER = 20 * 1024 * 1024
MAX_UNZIPPED = 60 * 1024 * 1024

ZIP_DOCUMENTS = {".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".ofd"}
IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
#: XML parts of a zip document that hold layout, not text.
_NOT_TEXT = re.compile(r"(^|/)(_rels|docProps|customXml|\[Content_Types\]|styles|theme\d*|settings|"
                       r"fontTable|webSettings|numbering|meta|manifest)(\.xml|/)", re.I)
_BREAK = re.compile(r"</(?:w:p|a:p|text:p|text:h|si|row)>|<(?:w:br|w:cr|text:line-break)\b[^>]*/?>")
_TAB = re.compile(r"<(?:w:tab|text:tab)\b[^>]*/?>")
_TAG = re.compile(r"<[^>]*>")

log = logging.getLogger(__name__)


class Readable(StrEnum):
    TEXT = "text"  # the text was read
    NO_TEXT = "no_text"  # an image: nothing to read
    UNSUPPORTED = "unsupported"  # a format whose text we cannot read (.doc, .zip, …)
    UNREADABLE = "unreadable"  # damaged, encrypted or over the limits


@dataclass(frozen=True)
class DocumentText:
    outcome: Readable
    text: str = ""
    reason: str = ""


def read_text(path: Path, suffix: str) -> DocumentText:
    """The text of the file at ``path``, whose original name ends in ``suffix``."""
    suffix = suffix.lower()
    if suffix in IMAGES:
        return DocumentText(Readable.NO_TEXT)
    try:
        if suffix == ".pdf":
            return _pdf(path)
        if suffix in ZIP_DOCUMENTS:
            return _zip_xml(path)
    except Exception as exc:  # noqa: BLE001 - a third-party parser on untrusted input
        log.info("attachment %s unreadable: %r", path.name, exc)
        return DocumentText(Readable.UNREADABLE, reason="文件已损坏或格式不正确")
    return DocumentText(Readable.UNSUPPORTED, reason=f"{suffix} 格式无法自动读取文字")


def _pdf(path: Path) -> DocumentText:
    from pypdf import PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted and not reader.decrypt(""):
        return DocumentText(Readable.UNREADABLE, reason="PDF 已加密")
    if len(reader.pages) > MAX_PAGES:
        return DocumentText(Readable.UNREADABLE, reason=f"超过 {MAX_PAGES} 页")
    parts: list[str] = []
    size = 0
    for page in reader.pages:
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text)
        if size > MAX_CHARS:
            return DocumentText(Readable.UNREADABLE, reason="文字过多")
    return DocumentText(Readable.TEXT, "\n".join(parts))


def _zip_xml(path: Path) -> DocumentText:
    parts: list[str] = []
    total = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.lower().endswith(".xml") or _NOT_TEXT.search(info.filename):
                continue
            total += info.file_size
            if info.file_size > MAX_MEMBER or total > MAX_UNZIPPED:
                return DocumentText(Readable.UNREADABLE, reason="解压后过大")
            with archive.open(info) as member:
                data = member.read(MAX_MEMBER + 1)
            if len(data) > MAX_MEMBER:
                return DocumentText(Readable.UNREADABLE, reason="解压后过大")
            parts.append(_xml_text(data.decode("utf-8", errors="replace")))
    text = "\n".join(p for p in parts if p)
    if len(text) > MAX_CHARS:
        return DocumentText(Readable.UNREADABLE, reason="文字过多")
    return DocumentText(Readable.TEXT, text)


def _xml_text(xml: str) -> str:
    """Visible text of an office XML part: paragraph ends become line breaks, tags go, and
    character references are decoded (no DTD is ever read, so no entity can expand)."""
    xml = _BREAK.sub("\n", _TAB.sub("\t", xml))
    return html.unescape(_TAG.sub("", xml)).strip()
