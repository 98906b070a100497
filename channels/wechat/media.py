"""Uploading a publication's images: inline images through ``media/uploadimg`` (their URLs
replace the /files/ links in the content) and the cover as permanent ``thumb`` material.

Uploads are remembered in the store by the content's hash (``wechat:<appid>:img:<sha>``,
``wechat:<appid>:thumb:<sha>``), so a retry, a bundle that shares an image or a correction does
not fill the account's material library (100,000 images) with copies."""
from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from channels.wechat import images, kv
from channels.wechat.client import WechatApi
from content.clock import Clock
from content.db import Store


class MissingFile(Exception):
    """A file the item refers to is not in the file store."""


class Media:
    def __init__(self, api: WechatApi, store: Store, clock: Clock, files_dir: Path,
                 default_cover: str, app_id: str) -> None:
        self.api = api
        self.store = store
        self.clock = clock
        self.files_dir = files_dir
        self.default_cover = Path(default_cover).expanduser() if default_cover else None
        self.prefix = f"wechat:{app_id}"

    def _read(self, name: str) -> bytes:
        path = self.files_dir / name
        if not path.is_file():
            raise MissingFile(f"文件库中缺少图片 {name}（{self.files_dir}）")
        return path.read_bytes()

    async def _cached(self, key: str) -> dict | None:
        async with self.store.sessions() as session:
            return await kv.get(session, key)

    async def _remember(self, key: str, value: dict) -> None:
        now = self.clock.now()
        await self.store.transaction(lambda s: kv.put(s, key, value, now), what="remember wechat media")

    async def image_url(self, name: str) -> str:
        data, ext, mime = await asyncio.to_thread(images.inline_image, self._read(name))
        key = f"{self.prefix}:img:{hashlib.sha256(data).hexdigest()}"
        cached = await self._cached(key)
        if cached:
            return cached["url"]
        url = await self.api.upload_image(data, f"image{ext}", mime)
        await self._remember(key, {"url": url})
        return url

    async def image_urls(self, names: list[str]) -> dict[str, str]:
        return {name: await self.image_url(name) for name in names}

    async def thumb(self, name: str | None) -> str:
        if name is not None:
            source = self._read(name)
        elif self.default_cover is not None:
            if not self.default_cover.is_file():
                raise MissingFile(f"默认封面 {self.default_cover} 不存在（修正：检查 [channels.wechat] default_cover）")
            source = self.default_cover.read_bytes()
        else:
            source = None
        data = await asyncio.to_thread(images.thumb_jpeg, source)
        key = f"{self.prefix}:thumb:{hashlib.sha256(data).hexdigest()}"
        cached = await self._cached(key)
        if cached:
            return cached["media_id"]
        media_id = await self.api.add_thumb(data)
        await self._remember(key, {"media_id": media_id})
        return media_id

    async def forget_thumbs(self) -> None:
        """After 40007 (a cached thumb no longer exists on the platform): upload afresh."""
        from sqlalchemy import delete

        from content.models import Setting

        prefix = f"{self.prefix}:thumb:"
        await self.store.transaction(lambda s: s.execute(delete(Setting).where(
            Setting.key.startswith(prefix))), what="forget wechat thumbs")
