"""What the material APIs accept (protocol reference §1.3): per upload kind, the file name
extensions allowed, the size limit and the error code past it; the file name's extension must
be one of them and the bytes must be a file of that format.

* ``media/uploadimg``: jpg/png under 1 MB (40009 past it);
* ``material/add_material`` and ``media/upload``: image ≤ 10 MB (bmp/png/jpeg/jpg/gif),
  voice ≤ 2 MB (mp3/wma/wav/amr), video ≤ 10 MB (mp4), thumb ≤ 64 KB (jpg).

A wrong type or extension answers 40005; an image or thumb over its size 40009, a voice or video
file over its size 40006 (the platform's code for a file size that is not allowed)."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import BodyPartReader, web

from channels.sandbox.wechat.wire import Failure

MB = 1024 * 1024


@dataclass(frozen=True)
class Rule:
    extensions: frozenset[str]
    limit: int  # bytes allowed (inclusive)
    size_code: int


RULES = {
    "uploadimg": Rule(frozenset({"jpg", "jpeg", "png"}), MB - 1, 40009),
    "image": Rule(frozenset({"bmp", "png", "jpeg", "jpg", "gif"}), 10 * MB, 40009),
    "voice": Rule(frozenset({"mp3", "wma", "wav", "amr"}), 2 * MB, 40006),
    "video": Rule(frozenset({"mp4"}), 10 * MB, 40006),
    "thumb": Rule(frozenset({"jpg", "jpeg"}), 64 * 1024, 40009),
}
MAX_BODY = max(rule.limit for rule in RULES.values())


def sniff(data: bytes) -> str:
    """The format of ``data`` by its first bytes, as an extension ('' = unknown)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith(b"BM"):
        return "bmp"
    if data[4:8] == b"ftyp":
        return "mp4"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "wav"
    if data.startswith(b"#!AMR"):
        return "amr"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "mp3"
    if data.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "wma"
    return ""


def _same_format(extension: str, sniffed: str) -> bool:
    return sniffed == extension or {sniffed, extension} == {"jpg", "jpeg"}


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str
    extension: str  # what the bytes are, normalised ("jpg" for .jpeg)
    fields: dict[str, str]  # the other form fields (e.g. a video's description)


async def receive(request: web.Request, kind: str) -> Upload:
    """The ``media`` part of a multipart upload, checked against the rules of ``kind``."""
    rule = RULES[kind]
    if not request.content_type.startswith("multipart/"):
        raise Failure(41005)
    reader = await request.multipart()
    found: tuple[bytes, str] | None = None
    fields: dict[str, str] = {}
    async for part in reader:
        if not isinstance(part, BodyPartReader):  # a nested multipart has no name: skipped
            continue
        name = part.name
        if name == "media" and found is None:
            buffer = bytearray()
            while chunk := await part.read_chunk(65536):
                buffer.extend(chunk)
                if len(buffer) > MAX_BODY:
                    raise Failure(rule.size_code)
            found = (bytes(buffer), part.filename or "")
        elif name:
            fields[name] = (await part.read()).decode("utf-8", "replace")
    if found is None or not found[0]:
        raise Failure(41005)
    data, filename = found
    extension = filename.rsplit(".", 1)[1].lower() if "." in filename else ""
    sniffed = sniff(data)
    if extension not in rule.extensions or not _same_format(extension, sniffed):
        raise Failure(40005)
    if len(data) > rule.limit:
        raise Failure(rule.size_code)
    return Upload(data, filename, "jpg" if sniffed == "jpeg" else sniffed, fields)
