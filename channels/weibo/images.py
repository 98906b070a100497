"""The cover image as statuses/share takes it: JPEG, GIF or PNG under 5 MB. Other formats
(WebP, BMP, TIFF …) are converted to JPEG and oversized images scaled down, with Pillow."""
from __future__ import annotations

import io
from pathlib import Path

from channels.weibo.api import Picture

MAX_BYTES = 5 * 1024 * 1024  # Weibo: "< 5M"
SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg", ".jpg"), (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
              (b"GIF87a", "image/gif", ".gif"), (b"GIF89a", "image/gif", ".gif"))


def sniff(data: bytes) -> tuple[str, str] | None:
    for magic, mime, ext in SIGNATURES:
        if data.startswith(magic):
            return mime, ext
    return None


def prepare(path: Path, filename: str) -> tuple[Picture | None, str]:
    """(picture to upload or None, a note for staff). Never raises for a bad image: the post
    then goes without one and the note says why."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"封面文件无法读取（{path.name}：{exc.strerror or exc}），本条不带配图"
    kind = sniff(data)
    stem = Path(filename).stem or "cover"
    if kind is not None and len(data) < MAX_BYTES:
        return Picture(stem + kind[1], data, kind[0]), ""
    try:
        converted = _to_jpeg(data)
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for a broken file
        return None, f"封面不是可用的图片（{type(exc).__name__}），本条不带配图"
    why = "格式转换为 JPEG" if kind is None else f"原图 {len(data) / 1048576:.1f} MB，已压缩"
    return Picture(stem + ".jpg", converted, "image/jpeg"), f"封面{why}（微博只收 JPEG/GIF/PNG，小于 5 MB）"


def _to_jpeg(data: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.load()
        picture = img.convert("RGB")
    quality = 88
    while True:
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=quality, optimize=True)
        if out.tell() < MAX_BYTES:
            return out.getvalue()
        if quality > 70:
            quality -= 8
        else:
            picture = picture.resize((max(1, picture.width * 3 // 4), max(1, picture.height * 3 // 4)))
