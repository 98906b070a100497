"""Images as WeChat accepts them (Pillow): the cover as a JPEG thumb of at most 64 KB, inline
images as JPEG or PNG under 1 MB. Everything else is converted and scaled down."""
from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageOps

THUMB_LIMIT = 64 * 1024
INLINE_LIMIT = 1024 * 1024 - 1
COVER_SIZE = (900, 383)  # 2.35:1, the cover of a WeChat article


class ImageProblem(ValueError):
    """A file that is not an image Pillow can read."""


def _open(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds
        raise ImageProblem(f"无法读取图片（{type(exc).__name__}）") from exc
    return ImageOps.exif_transpose(image)


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.split()[-1])
        return background
    return image.convert("RGB")


def _jpeg_under(image: Image.Image, limit: int, max_side: int) -> bytes:
    image = _rgb(image)
    side = max_side
    while True:
        scaled = image.copy()
        scaled.thumbnail((side, side))
        for quality in (88, 80, 70, 60, 50, 40, 30):
            out = io.BytesIO()
            scaled.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= limit:
                return out.getvalue()
        side = int(side * 0.75)
        if side < 32:
            raise ImageProblem("图片无法压缩到要求的大小")


def default_cover() -> bytes:
    """A plain cover in the government red, for items without an image."""
    image = Image.new("RGB", COVER_SIZE, (180, 28, 28))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, COVER_SIZE[1] - 40, COVER_SIZE[0], COVER_SIZE[1]), fill=(150, 20, 20))
    draw.ellipse((COVER_SIZE[0] // 2 - 60, 90, COVER_SIZE[0] // 2 + 60, 210), outline=(250, 214, 100), width=8)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def thumb_jpeg(data: bytes | None) -> bytes:
    """The cover as a JPEG of at most 64 KB (the limit of ``thumb`` material)."""
    if data is None:
        data = default_cover()
    image = _open(data)
    if data[:3] == b"\xff\xd8\xff" and len(data) <= THUMB_LIMIT and max(image.size) <= 1080:
        return data
    return _jpeg_under(image, THUMB_LIMIT, 900)


def inline_image(data: bytes) -> tuple[bytes, str, str]:
    """(bytes, extension, mime) of an image ``media/uploadimg`` accepts: JPEG or PNG, < 1 MB."""
    image = _open(data)
    if len(data) <= INLINE_LIMIT and data[:3] == b"\xff\xd8\xff":
        return data, ".jpg", "image/jpeg"
    if len(data) <= INLINE_LIMIT and data[:8] == b"\x89PNG\r\n\x1a\n":
        return data, ".png", "image/png"
    return _jpeg_under(image, INLINE_LIMIT, 1920), ".jpg", "image/jpeg"
