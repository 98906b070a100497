"""Serving the site: content types, ETag / Last-Modified and 304s, HEAD, and no way out of the
site directory."""
from __future__ import annotations

import os
import time
from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.web import StaticSite


@pytest.fixture
async def client(tmp_path: Path):
    site = tmp_path / "site"
    (site / "items").mkdir(parents=True)
    (site / "index.html").write_text("<!DOCTYPE html><html lang=\"zh-CN\"><title>首页</title></html>", encoding="utf-8")
    (site / "rss.xml").write_text("<rss version=\"2.0\"></rss>", encoding="utf-8")
    (site / "atom.xml").write_text("<feed xmlns=\"http://www.w3.org/2005/Atom\"></feed>", encoding="utf-8")
    (site / "items" / "1.html").write_text("<p>一</p>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")
    app = web.Application()
    app.router.add_get("/{tail:.*}", StaticSite(site, hub="https://hub.example/", base_url="https://gov.example").handle)
    async with TestClient(TestServer(app)) as c:
        c.site_dir = site  # type: ignore[attr-defined]
        yield c


async def test_content_types_and_validators(client: TestClient) -> None:
    r = await client.get("/")
    assert r.status == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "首页" in await r.text()
    r = await client.get("/rss.xml")
    assert r.headers["Content-Type"].startswith("application/rss+xml")
    assert r.headers["ETag"].startswith('"') and r.headers["Last-Modified"].endswith("GMT")
    assert '<https://hub.example/>; rel="hub"' in r.headers["Link"]
    assert '<https://gov.example/rss.xml>; rel="self"' in r.headers["Link"]
    r = await client.get("/atom.xml")
    assert r.headers["Content-Type"].startswith("application/atom+xml")


async def test_conditional_get_answers_304(client: TestClient) -> None:
    first = await client.get("/items/1.html")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    r = await client.get("/items/1.html", headers={"If-None-Match": etag})
    assert r.status == 304 and await r.read() == b"" and r.headers["ETag"] == etag
    r = await client.get("/items/1.html", headers={"If-Modified-Since": modified})
    assert r.status == 304
    # If-None-Match wins over If-Modified-Since
    r = await client.get("/items/1.html", headers={"If-None-Match": '"other"', "If-Modified-Since": modified})
    assert r.status == 200
    older = format_datetime(datetime(2000, 1, 1, tzinfo=timezone.utc), usegmt=True)
    assert (await client.get("/items/1.html", headers={"If-Modified-Since": older})).status == 200


async def test_a_changed_file_gets_a_new_etag(client: TestClient) -> None:
    etag = (await client.get("/items/1.html")).headers["ETag"]
    page = client.site_dir / "items" / "1.html"  # type: ignore[attr-defined]
    page.write_text("<p>一（更正）</p>", encoding="utf-8")
    later = time.time() + 2
    os.utime(page, (later, later))
    r = await client.get("/items/1.html", headers={"If-None-Match": etag})
    assert r.status == 200 and r.headers["ETag"] != etag


async def test_head_and_missing_and_traversal(client: TestClient) -> None:
    r = await client.head("/items/1.html")
    assert r.status == 200 and r.headers["Content-Length"] == str(len("<p>一</p>".encode()))
    assert (await client.get("/items/404.html")).status == 404
    assert (await client.get("/../secret.txt")).status == 404
    assert (await client.get("/%2e%2e/secret.txt")).status == 404


async def test_precompressed_files_are_served_to_clients_that_accept_gzip(tmp_path: Path) -> None:
    import gzip

    from channels.website.writer import SiteWriter

    site = tmp_path / "site"
    writer = SiteWriter(site, fsync=False)
    page = "<!DOCTYPE html><p>" + "政务公开" * 500 + "</p>"
    writer.write("items/1.html", page)
    writer.write("rss.xml", "<rss version=\"2.0\">" + "<item/>" * 200 + "</rss>")
    writer.write("files/a.png", b"\x89PNG-not-compressed")
    writer.finish()
    assert gzip.decompress((site / "items/1.html.gz").read_bytes()) == page.encode()
    assert (site / "rss.xml.gz").is_file() and not (site / "files/a.png.gz").exists()
    before = (site / "items/1.html.gz").stat().st_mtime_ns
    assert not writer.write("items/1.html", page)  # unchanged: neither file is touched
    writer.finish()
    assert (site / "items/1.html.gz").stat().st_mtime_ns == before

    app = web.Application()
    app.router.add_get("/{tail:.*}", StaticSite(site).handle)
    async with TestClient(TestServer(app)) as client:
        plain = await client.get("/items/1.html", headers={"Accept-Encoding": "identity"})
        assert "Content-Encoding" not in plain.headers and await plain.text() == page
        assert plain.headers["Vary"] == "Accept-Encoding"
        zipped = await client.get("/items/1.html", headers={"Accept-Encoding": "gzip, deflate"},
                                  auto_decompress=False)
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert zipped.headers["Vary"] == "Accept-Encoding"
        assert zipped.headers["Content-Type"] == "text/html; charset=utf-8"
        assert gzip.decompress(await zipped.read()) == page.encode()
        assert zipped.headers["ETag"] != plain.headers["ETag"]  # two representations
        again = await client.get("/items/1.html", headers={
            "Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]})
        assert again.status == 304 and again.headers["Vary"] == "Accept-Encoding"
        refused = await client.get("/items/1.html", headers={"Accept-Encoding": "gzip;q=0"})
        assert "Content-Encoding" not in refused.headers
        feed = await client.get("/rss.xml", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
        assert feed.headers["Content-Encoding"] == "gzip"
        assert feed.headers["Content-Type"].startswith("application/rss+xml")
        image = await client.get("/files/a.png", headers={"Accept-Encoding": "gzip"})
        assert "Content-Encoding" not in image.headers
